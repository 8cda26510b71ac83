"""The client of the pyrunner HTTP API (docs/api.md), over the standard library alone."""

from __future__ import annotations

import codecs
import http.client
import json
import os
import secrets
import time
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Mapping, Sequence, Union

from .errors import ApiError, PyrunnerError, ServerUnreachable, ServiceUnavailable, TooManyRequests, error_for
from .models import Environment, Event, FileInfo, Run
from .paths import check_run_path, save_file
from .sse import SseParser, run_event

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_S = 30.0
# How often stream() connects again after the connection broke, before it gives up, and the
# wait before the first try (doubled each time, up to RECONNECT_MAX_DELAY_S) when the server
# named none.
RECONNECT_ATTEMPTS = 8
RECONNECT_DELAY_S = 0.5
RECONNECT_MAX_DELAY_S = 8.0
_CHUNK = 1 << 16
# The server sends a comment every 15 s on a quiet stream: four missed is a broken connection.
STREAM_TIMEOUT_S = 60.0

StrPath = Union[str, "os.PathLike[str]"]
# Files in: local paths (each goes to the same relative path in the run, or to its name), or
# {path in the run: local path or the content as bytes}.
FilesIn = Union[Iterable[StrPath], Mapping[str, Union[StrPath, bytes]]]


def run_path_for(local: StrPath) -> str:
    """Where a local file goes in the run's working directory: the same relative path when
    it is a plain one (`data/sales.csv`), else its name (`/tmp/x/sales.csv` -> `sales.csv`)."""
    path = PurePosixPath(os.fspath(local))
    if not path.is_absolute() and ".." not in path.parts and path.parts:
        return str(path)
    return path.name


def _read(path: StrPath) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _script(code_or_path: str | os.PathLike[str] | bytes) -> tuple[str, bytes]:
    """The script's file name and bytes: a path (a PathLike, or a one-line str naming an
    existing file) is read; anything else is the code itself."""
    if isinstance(code_or_path, bytes):
        return "main.py", code_or_path
    if isinstance(code_or_path, os.PathLike):
        return os.path.basename(os.fspath(code_or_path)), _read(code_or_path)
    if "\n" not in code_or_path and code_or_path and os.path.isfile(code_or_path):
        return os.path.basename(code_or_path), _read(code_or_path)
    return "main.py", code_or_path.encode("utf-8")


def _files(files: FilesIn | None) -> list[tuple[str, bytes]]:
    if files is None:
        return []
    if isinstance(files, Mapping):
        return [(path, value if isinstance(value, bytes) else _read(value)) for path, value in files.items()]
    return [(run_path_for(local), _read(local)) for local in files]


def _quoted_param(name: str, value: str) -> str:
    """A Content-Disposition parameter: quoted when plain ASCII, else RFC 2231's UTF-8 form."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'{name}="{value}"'
    return f"{name}*=UTF-8''{urllib.parse.quote(value, safe='')}"


def multipart(parts: Sequence[tuple[str, str | None, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (name, filename, content type, bytes) parts, and its
    Content-Type."""
    boundary = "pyrunner-" + secrets.token_hex(16)
    body = bytearray()
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += "; " + _quoted_param("filename", filename)
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        body += data
        body += b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


class _Response:
    """An answer whose body is read by the caller; closes its connection with it."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self.connection = connection
        self.response = response

    def __enter__(self) -> http.client.HTTPResponse:
        return self.response

    def __exit__(self, *_: object) -> None:
        self.response.close()
        self.connection.close()


class Client:
    """A pyrunner server, as one token's tenant sees it.

    `url` defaults to $PYRUNNER_URL, then http://127.0.0.1:8080 (where `scripts/run`
    serves); `token` to $PYRUNNER_TOKEN. Every method raises an ApiError subclass for an
    error answer (with the server's sentence) and ServerUnreachable when the server could not
    be reached."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = (url or os.environ.get("PYRUNNER_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else (os.environ.get("PYRUNNER_TOKEN") or None)
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http:// or https:// URL: {self.url!r}")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")

    # Transport

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _open(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = -1.0,
    ) -> _Response:
        """Sends a request; raises on an error answer, else returns the answer to read."""
        all_headers = {"Accept": "application/json", "User-Agent": "pyrunner-client"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        # -1: the client's own timeout; None: none (a blocking run, a stream).
        connection = self._connect(self.timeout if timeout == -1.0 else timeout)
        try:
            connection.request(method, self._prefix + path, body=body, headers=all_headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise ServerUnreachable(self.url, str(error) or type(error).__name__) from None
        if response.status >= 400:
            try:
                raise self._error(response)
            finally:
                response.close()
                connection.close()
        return _Response(connection, response)

    @staticmethod
    def _error(response: http.client.HTTPResponse) -> ApiError:
        try:
            text = response.read(1 << 20)
        except (OSError, http.client.HTTPException):
            text = b""
        message = ""
        try:
            decoded = json.loads(text)
            if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
                message = decoded["error"]
        except ValueError:
            message = text.decode("utf-8", "replace").strip()
        retry_after: float | None = None
        header = response.getheader("Retry-After")
        if header is not None:
            try:
                retry_after = float(header)
            except ValueError:
                retry_after = None
        return error_for(response.status, message or response.reason, retry_after)

    def _json(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = -1.0,
    ) -> Any:
        with self._open(method, path, body, headers, timeout) as response:
            try:
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                raise ServerUnreachable(self.url, str(error) or type(error).__name__) from None
        try:
            return json.loads(data)
        except ValueError:
            raise PyrunnerError(f"{method} {path}: the answer is not JSON") from None

    def _object(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = -1.0,
    ) -> dict[str, Any]:
        data = self._json(method, path, body, headers, timeout)
        if not isinstance(data, dict):
            raise PyrunnerError(f"{method} {path}: the answer is not a JSON object")
        return data

    def _run_path(self, run_id: str, tail: str = "") -> str:
        return "/runs/" + urllib.parse.quote(run_id, safe="") + tail

    # Runs

    def run(
        self,
        code_or_path: str | os.PathLike[str] | bytes | None = None,
        *,
        files: FilesIn | None = None,
        archive: StrPath | None = None,
        entry: str | None = None,
        environment: str | None = None,
        requirements: Sequence[str] | None = None,
        limits: Mapping[str, int] | None = None,
        stdin: str | None = None,
        args: Sequence[str] | None = None,
        wait: bool = True,
    ) -> Run:
        """Runs a script and returns its Run: finished when `wait`, else as it is queued.

        `code_or_path` is the code, or the path of a script to read (a PathLike, or a str
        naming an existing file); it may be left out with `entry`, the path of the script
        among `files` or in `archive`. `files` are local paths (each placed at the same
        relative path, or under its own name when the path is absolute or climbs with `..`),
        or a mapping {path in the run: local path or bytes}. `archive` is a local .zip, .tar,
        .tar.gz or .tar.xz unpacked into the working directory. Everything goes up in one
        multipart POST /run-file/ (docs/api.md, "Files in")."""
        if code_or_path is None and entry is None:
            raise ValueError("give the code, a script's path, or entry")
        options: dict[str, Any] = {}
        for name, value in (
            ("entry", entry),
            ("environment", environment),
            ("requirements", list(requirements) if requirements is not None else None),
            ("limits", dict(limits) if limits is not None else None),
            ("stdin", stdin),
            ("args", list(args) if args is not None else None),
        ):
            if value is not None:
                options[name] = value
        parts: list[tuple[str, str | None, str, bytes]] = []
        if code_or_path is not None:
            filename, code = _script(code_or_path)
            parts.append(("file", filename, "text/x-python", code))
        for path, content in _files(files):
            parts.append(("files", path, "application/octet-stream", content))
        if archive is not None:
            parts.append(("archive", os.path.basename(os.fspath(archive)), "application/octet-stream", _read(archive)))
        parts.append(("options", None, "application/json", json.dumps(options).encode()))
        body, content_type = multipart(parts)
        # A blocking submission lasts as long as the run; the server bounds that.
        timeout = None if wait else self.timeout
        query = "?wait=true" if wait else "?wait=false"
        return Run.from_json(self._object("POST", "/run-file/" + query, body, {"Content-Type": content_type}, timeout))

    def submit(self, code_or_path: str | os.PathLike[str] | bytes | None = None, **fields: Any) -> Run:
        """run(..., wait=False): the Run as it is accepted (`queued` or `running`)."""
        return self.run(code_or_path, **fields, wait=False)

    def get(self, run_id: str) -> Run:
        """The run as it is now."""
        return Run.from_json(self._object("GET", self._run_path(run_id)))

    def cancel(self, run_id: str) -> Run:
        """Cancels the run (a finished one is left as it is); returns it."""
        return Run.from_json(self._object("DELETE", self._run_path(run_id)))

    def _raw(self, path: str) -> bytes:
        with self._open("GET", path) as response:
            try:
                return response.read()
            except (OSError, http.client.HTTPException) as error:
                raise ServerUnreachable(self.url, str(error) or type(error).__name__) from None

    def stdout(self, run_id: str) -> bytes:
        """The run's stdout, the exact bytes captured so far."""
        return self._raw(self._run_path(run_id, "/stdout"))

    def stderr(self, run_id: str) -> bytes:
        """The run's stderr, the exact bytes captured so far."""
        return self._raw(self._run_path(run_id, "/stderr"))

    def environments(self) -> list[Environment]:
        """The environments runs can choose."""
        listed = self._object("GET", "/environments").get("environments")
        return [Environment.from_json(e) for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []

    # Files out

    def download_file(self, run_id: str, info: FileInfo, out_dir: StrPath) -> str:
        """Saves one of the run's files under out_dir at its path, checked against `info`'s
        size and sha256; returns where it went. UnsafePath for a path that is not plain,
        FileCheckFailed when the bytes are not the listed ones."""
        check_run_path(info.path)
        path = self._run_path(run_id, "/files/" + urllib.parse.quote(info.path, safe="/"))
        with self._open("GET", path, headers={"Accept": "*/*"}) as response:
            return save_file(out_dir, info.path, self._chunks(response), info.size, info.sha256)

    def _chunks(self, response: http.client.HTTPResponse) -> Iterator[bytes]:
        try:
            while chunk := response.read(_CHUNK):
                yield chunk
        except (OSError, http.client.HTTPException) as error:
            raise ServerUnreachable(self.url, str(error) or type(error).__name__) from None

    def download_files(self, run_id: str, out_dir: StrPath, run: Run | None = None) -> list[str]:
        """Saves every file of the run's list under out_dir (see download_file); returns
        where they went. `run`: the run as already fetched, else it is fetched."""
        listed = run if run is not None else self.get(run_id)
        return [self.download_file(run_id, info, out_dir) for info in listed.files]

    # Live runs

    def stream(
        self, run_id: str, last_event_id: str | None = None, timeout: float | None = STREAM_TIMEOUT_S
    ) -> Iterator[Event]:
        """The run's events (`GET /runs/{id}/events`), up to and with its `end` event.

        A connection that breaks, or ends before `end`, is made again with `Last-Event-ID`,
        so every event comes once, in order; after RECONNECT_ATTEMPTS failures in a row the
        last error is raised. `timeout`: the longest silence a connection may keep before it
        counts as broken (None: none)."""
        failures = 0
        delay: float | None = None
        while True:
            parser = SseParser()
            parser.last_id = last_event_id
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = last_event_id
            try:
                with self._open("GET", self._run_path(run_id, "/events"), headers=headers, timeout=timeout) as response:
                    if response.status == 204:
                        # The server's word that the last event received was the end.
                        yield Event(type="end", id=last_event_id, run=self.get(run_id))
                        return
                    for line in self._lines(response):
                        raw = parser.feed_line(line)
                        if raw is None:
                            continue
                        last_event_id = raw.id
                        failures = 0
                        event = run_event(raw)
                        if event is None:
                            continue
                        yield event
                        if event.type == "end":
                            return
                reason: PyrunnerError = ServerUnreachable(self.url, "the event stream ended before the run did")
            except (ServerUnreachable, ServiceUnavailable, TooManyRequests) as error:
                reason = error
            failures += 1
            if failures > RECONNECT_ATTEMPTS:
                raise reason
            if isinstance(reason, ApiError) and reason.retry_after is not None:
                wait = reason.retry_after
            elif parser.retry_ms is not None:
                wait = parser.retry_ms / 1000.0
            else:
                delay = RECONNECT_DELAY_S if delay is None else min(delay * 2, RECONNECT_MAX_DELAY_S)
                wait = delay
            time.sleep(wait)

    def _lines(self, response: http.client.HTTPResponse) -> Iterator[str]:
        """The stream's lines without their ends (CRLF, LF or CR, as the format allows)."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        try:
            while chunk := response.read1(_CHUNK):
                pending += decoder.decode(chunk)
                # A CR at the end may be the first half of a CRLF.
                complete, held = (pending[:-1], "\r") if pending.endswith("\r") else (pending, "")
                lines = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n")
                pending = lines.pop() + held
                yield from lines
        except (OSError, http.client.HTTPException) as error:
            raise ServerUnreachable(self.url, str(error) or type(error).__name__) from None
