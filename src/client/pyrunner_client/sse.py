"""Server-sent events (the WHATWG `text/event-stream` format), parsed without I/O, and the
run events of `GET /runs/{id}/events` built from them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .models import Event, Run


@dataclass(frozen=True)
class RawEvent:
    """One dispatched event: its type (`message` when unnamed), data and the last event id."""

    type: str
    data: str
    id: str | None


class SseParser:
    """Takes the stream line by line (without their line ends) and returns each event as its
    blank line completes it. `last_id` survives events, as the format says: it is what a
    reconnecting client sends in `Last-Event-ID`; `retry_ms` is the server's reconnection
    delay, if it gave one."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self._type = ""
        self._data: list[str] = []
        self._has_data = False

    def feed_line(self, line: str) -> RawEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry":
            if value.isdigit():
                self.retry_ms = int(value)
        return None

    def _dispatch(self) -> RawEvent | None:
        event = None
        if self._has_data:
            event = RawEvent(self._type or "message", "\n".join(self._data), self.last_id)
        self._type = ""
        self._data = []
        self._has_data = False
        return event


def run_event(raw: RawEvent) -> Event | None:
    """The run event a raw event stands for; None for a type this client does not know (the
    server may add some) or data that is not what the type promises."""
    try:
        data = json.loads(raw.data)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if raw.type in ("status", "end"):
        return Event(type="status" if raw.type == "status" else "end", id=raw.id, run=Run.from_json(data))
    if raw.type in ("stdout", "stderr"):
        offset = data.get("offset")
        text = data.get("data")
        if not isinstance(text, str):
            return None
        return Event(
            type="stdout" if raw.type == "stdout" else "stderr",
            id=raw.id,
            offset=offset if isinstance(offset, int) and not isinstance(offset, bool) else None,
            data=text,
        )
    return None
