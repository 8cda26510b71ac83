"""GET /runs/{id}/events (docs/api.md, "Following a run live"): a run's status, its output as
it is written and its end as Server-Sent Events, resumable with Last-Event-ID, for many
watchers at once, none of whom can hold up a run or another watcher."""

import json
import socket
import threading
import time
import urllib.parse

import pytest

from api_client import describe

STREAM_TIMEOUT_S = 60


class EventStream:
    """A raw-socket SSE client: what arrives is seen as it arrives, with no library buffering
    in between."""

    def __init__(self, server, run_id, last_event_id=None, token=None):
        url = urllib.parse.urlsplit(server.base_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=STREAM_TIMEOUT_S)
        token = server.token if token is None else token
        headers = [f"GET /runs/{run_id}/events HTTP/1.1", f"Host: {url.netloc}",
                   "Accept: text/event-stream"]
        if token:
            headers.append(f"Authorization: Bearer {token}")
        if last_event_id is not None:
            headers.append(f"Last-Event-ID: {last_event_id}")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        self.buffer = b""
        self.closed = False
        head = self._read_until(b"\r\n\r\n")
        status_line, *lines = head.decode().split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines if line)}

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
        self.buffer += data

    def _read_until(self, marker):
        while marker not in self.buffer:
            assert not self.closed, f"the stream closed before {marker!r}: {self.buffer[:500]!r}"
            self._fill()
        part, self.buffer = self.buffer.split(marker, 1)
        return part

    def next_event(self):
        """(id, name, data as JSON) of the next event, skipping comments; None once closed."""
        while True:
            while b"\n\n" not in self.buffer and not self.closed:
                self._fill()
            if b"\n\n" not in self.buffer:
                assert self.buffer == b"", f"a partial event before the close: {self.buffer!r}"
                return None
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields = {}
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if fields:
                return fields["id"], fields["event"], json.loads(fields["data"])

    def all_events(self):
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def close(self):
        self.sock.close()


def output_of(events, stream):
    """The text of a stream's events, checking that each starts where the one before ended."""
    text, offset = "", 0
    for _, name, data in events:
        if name == stream:
            assert data["offset"] == offset, (data, offset)
            offset += len(data["data"].encode())
            text += data["data"]
    return text


def names(events):
    return [name for _, name, _ in events]


@pytest.mark.vm
def test_output_arrives_while_the_run_runs_and_the_stream_ends_with_the_run(server):
    run = server.submit("import sys, time\nprint('one', flush=True)\ntime.sleep(3)\n"
                        "print('two', flush=True)\nprint('oops', file=sys.stderr)")
    stream = EventStream(server, run["id"])
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = []
    while True:
        event = stream.next_event()
        assert event is not None
        events.append(event)
        if event[1] == "stdout":
            break
    assert events[-1][2] == {"offset": 0, "data": "one\n"}
    # The first line came while the run was still sleeping before the second.
    assert server.get_run(run["id"])["status"] == "running"
    assert server.get(f"/runs/{run['id']}/stdout").content == b"one\n"
    events += stream.all_events()
    statuses = [data["status"] for _, name, data in events if name == "status"]
    assert statuses[0] in ("queued", "running") and statuses[-1] == "succeeded", statuses
    assert "running" in statuses
    assert all("stdout" not in data for _, name, data in events if name == "status")
    assert output_of(events, "stdout") == "one\ntwo\n"
    assert output_of(events, "stderr") == "oops\n"
    assert names(events)[-1] == "end" and names(events).count("end") == 1
    assert events[-1][2] == server.get_run(run["id"]), events[-1]
    # Ids only move forward.
    ids = [tuple(map(int, event_id.split("-"))) for event_id, _, _ in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids


@pytest.mark.vm
def test_a_finished_run_replays_and_ends(server):
    run = server.run("import sys; print('a'); print('b', file=sys.stderr); print('c')")
    events = EventStream(server, run["id"]).all_events()
    assert names(events)[0] == "status" and events[0][2]["status"] == "succeeded"
    assert output_of(events, "stdout") == "a\nc\n"
    assert output_of(events, "stderr") == "b\n"
    assert names(events)[-1] == "end"
    assert events[-1][2]["stdout"] == "a\nc\n"


@pytest.mark.vm
def test_resuming_with_last_event_id_gets_the_rest_exactly_once(server):
    code = "import sys\nfor i in range(2000):\n    print(f'line {i}')\n    print(f'err {i}', file=sys.stderr)"
    run = server.run(code)
    whole = EventStream(server, run["id"]).all_events()
    expected_out = "".join(f"line {i}\n" for i in range(2000))
    assert output_of(whole, "stdout") == expected_out
    # Resume after every kind of event: the first status, an output event in the middle, the
    # final status.
    for cut in (0, len(whole) // 2, len(whole) - 2):
        first = whole[: cut + 1]
        rest = EventStream(server, run["id"], last_event_id=whole[cut][0]).all_events()
        joined = first + rest
        assert output_of(joined, "stdout") == expected_out, cut
        assert output_of(joined, "stderr") == "".join(f"err {i}\n" for i in range(2000)), cut
        assert names(joined).count("end") == 1 and names(joined)[-1] == "end"
    # After the end there is nothing more: 204, which tells an EventSource to stop.
    done = EventStream(server, run["id"], last_event_id=whole[-1][0])
    assert done.status == 204


@pytest.mark.vm
def test_resuming_a_live_run_mid_stream(server):
    run = server.submit("import time\nfor i in range(4):\n    print(i, flush=True)\n    time.sleep(0.5)")
    stream = EventStream(server, run["id"])
    events = []
    while "stdout" not in names(events):
        events.append(stream.next_event())
    stream.close()
    rest = EventStream(server, run["id"], last_event_id=events[-1][0]).all_events()
    joined = events + rest
    assert output_of(joined, "stdout") == "0\n1\n2\n3\n"
    assert names(joined)[-1] == "end"


@pytest.mark.vm
def test_a_bad_last_event_id_is_a_400(server):
    run = server.run("print(1)")
    response = server.get(f"/runs/{run['id']}/events", headers={"Last-Event-ID": "nonsense"})
    assert response.status_code == 400, describe(response)
    assert "Last-Event-ID" in response.json()["error"]


@pytest.mark.vm
def test_an_unknown_run_is_a_404(server):
    response = server.get(f"/runs/{'a' * 32}/events")
    assert response.status_code == 404, describe(response)


@pytest.mark.vm
def test_a_queued_runs_stream_waits_for_it(server_factory):
    small = server_factory(max_running=1)
    blocker = small.submit("import time; time.sleep(3)")
    run = small.submit("print('after')")
    events = EventStream(small, run["id"]).all_events()
    assert events[0][2]["status"] == "queued", events[0]
    assert [d["status"] for _, n, d in events if n == "status"][-2:] == ["running", "succeeded"]
    assert output_of(events, "stdout") == "after\n"
    small.wait_until_final(blocker["id"])


@pytest.mark.vm
def test_output_past_the_cap_is_never_sent(server):
    run = server.run("print('x' * 5000)", limits={"output_bytes": 1000})
    assert run["status"] == "output_limit_exceeded", run
    events = EventStream(server, run["id"]).all_events()
    assert output_of(events, "stdout") == "x" * 1000
    assert events[-1][2]["stdout_truncated"] is True


@pytest.mark.vm
def test_invalid_utf8_becomes_replacement_characters_and_sequences_stay_whole(server):
    code = ("import sys, time\nout = sys.stdout.buffer\nout.write(b'a\\xff'); out.flush()\n"
            "out.write('\\u20ac'.encode()[:2]); out.flush(); time.sleep(0.5)\n"
            "out.write('\\u20ac'.encode()[2:] + b'b'); out.flush()")
    run = server.run(code)
    events = EventStream(server, run["id"]).all_events()
    assert output_of(events, "stdout") == "a\ufffd\u20acb"


@pytest.mark.vm
def test_a_stalled_reader_holds_up_neither_the_run_nor_another_watcher(server):
    run = server.submit("import sys\nfor i in range(200):\n    sys.stdout.write(str(i % 10) * 4999 + '\\n')\n",
                        limits={"output_bytes": 1_000_000})
    url = urllib.parse.urlsplit(server.base_url)
    stalled = socket.create_connection((url.hostname, url.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall((f"GET /runs/{run['id']}/events HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {server.token}\r\n\r\n").encode())
    try:
        events = EventStream(server, run["id"]).all_events()
        assert len(output_of(events, "stdout")) == 1_000_000
        assert events[-1][1] == "end" and events[-1][2]["status"] == "succeeded", events[-1]
        assert server.get_run(run["id"])["status"] == "succeeded"
    finally:
        stalled.close()


@pytest.mark.vm
def test_a_hundred_watchers_all_get_everything(server):
    run = server.submit("import time\nfor i in range(50):\n    print('line', i, flush=True)\n    time.sleep(0.02)")
    expected = "".join(f"line {i}\n" for i in range(50))
    results = [None] * 100
    errors = []

    def watch(index):
        try:
            events = EventStream(server, run["id"]).all_events()
            results[index] = (output_of(events, "stdout"), names(events)[-1])
        except Exception as error:  # noqa: BLE001 -- reported below, with its watcher
            errors.append((index, repr(error)))

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(STREAM_TIMEOUT_S)
    assert not errors, errors[:5]
    assert all(result == (expected, "end") for result in results), [r for r in results if r != (expected, "end")][:3]
