"""stream() over a connection that breaks mid-event: it connects again with the last id it
received, and yields every event once. The other end is a stdlib HTTP server in this process
that speaks the event stream as docs/api.md describes it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pyrunner_client import Client, NotFound

RUN = {"id": "r1", "status": "running"}


def event(kind, event_id, data):
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *_):
        pass

    def do_GET(self):
        Handler.seen.append((self.path, self.headers.get("Last-Event-ID"), self.headers.get("Authorization")))
        if self.path != "/runs/r1/events":
            body = b'{"error": "There is no run r2."}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.headers.get("Last-Event-ID") is None:
            self.wfile.write(event("status", "2-0-0", RUN) + b": ping\r\n\r\n"
                             + event("stdout", "2-3-0", {"offset": 0, "data": "ab\n"})
                             # Cut off in the middle of the next event.
                             + b"id: 2-6-0\nevent: stdout\ndata: {\"offset\": 3, ")
        else:
            self.wfile.write(event("stdout", "2-6-0", {"offset": 3, "data": "cd\n"})
                             + event("end", "4-6-0", {**RUN, "status": "succeeded", "stdout": "ab\ncd\n"}))
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def server():
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_broken_stream_resumes_from_the_last_event_with_nothing_missed_or_twice(server):
    events = list(Client(server, "tok").stream("r1"))

    assert [(e.type, e.id, e.data) for e in events] == [
        ("status", "2-0-0", ""), ("stdout", "2-3-0", "ab\n"), ("stdout", "2-6-0", "cd\n"), ("end", "4-6-0", "")]
    assert events[-1].run is not None and events[-1].run.stdout == "ab\ncd\n"
    assert Handler.seen == [("/runs/r1/events", None, "Bearer tok"), ("/runs/r1/events", "2-3-0", "Bearer tok")]


def test_an_unknown_run_is_not_retried(server):
    with pytest.raises(NotFound) as raised:
        list(Client(server, "tok").stream("r2"))
    assert raised.value.message == "There is no run r2."
    assert len(Handler.seen) == 1
