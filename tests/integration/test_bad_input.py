"""Malformed requests, one table: each gets the exact status of the contract (docs/api.md) and a
JSON {"error": "<sentence naming the problem>"}, also where the HTTP library cannot parse the
request at all. Never a 500, a crash or a hang.
"""

import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

import pytest

from api_client import CONNECT_TIMEOUT_S, describe

UNKNOWN_ID = "0123456789abcdef0123456789abcdef"
HELLO = 'print("hello")\n'
MAX_ARG_BYTES = 128 * 1024 - 1
BOUNDARY = "b0undary"
MIB = 1024 * 1024


def form(*parts, boundary=BOUNDARY):
    """A multipart/form-data body of (Content-Disposition name or None, content) parts."""
    body = b""
    for name, content in parts:
        disposition = "form-data" + (f'; name="{name}"; filename="x.py"' if name == "file" else
                                     f'; name="{name}"' if name else "")
        content = content.encode() if isinstance(content, str) else content
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def as_json(value):
    return json.dumps(value).encode()


def nested(depth):
    return ('{"code": "", "limits": ' + "[" * depth + "]" * depth + "}").encode()


JSON = "application/json"
FORM = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass
class Bad:
    name: str
    body: bytes
    status: int
    # A word the error sentence must contain (case-insensitive); None: any sentence.
    names: Optional[str]
    path: str = "/run-json/"
    content_type: Optional[str] = JSON
    method: str = "POST"
    allow: Optional[str] = None


TABLE = [
    # Broken JSON
    Bad("truncated-json", b'{"code": ', 400, "not valid JSON"),
    Bad("not-json", b"print('hello')", 400, "not valid JSON"),
    Bad("trailing-garbage", b'{"code": "print(1)"} }', 400, "not valid JSON"),
    Bad("empty-body", b"", 400, "not valid JSON"),
    Bad("single-quotes", b"{'code': 'print(1)'}", 400, "not valid JSON"),
    Bad("nan-literal", b'{"code": "", "limits": {"tasks": NaN}}', 400, "not valid JSON"),
    Bad("top-level-array", b'["print(1)"]', 400, "JSON object"),
    Bad("top-level-string", b'"print(1)"', 400, "JSON object"),
    Bad("top-level-null", b"null", 400, "JSON object"),
    Bad("invalid-utf8-in-string", b'{"code": "print(\'\xff\xfe\')"}', 400, "UTF-8"),
    Bad("lone-surrogate", b'{"code": "\\ud800"}', 400, "not valid JSON"),
    Bad("nesting-33-levels", nested(33), 400, "deeper than 32"),
    Bad("nesting-100000-levels", b"[" * 100000, 400, "deeper than 32"),
    # code
    Bad("missing-code", as_json({"stdin": "x"}), 400, "code"),
    Bad("code-number", as_json({"code": 5}), 400, "code must be a string"),
    Bad("code-null", as_json({"code": None}), 400, "code must be a string"),
    Bad("code-array", as_json({"code": ["print(1)"]}), 400, "code must be a string"),
    Bad("code-object", as_json({"code": {"source": "print(1)"}}), 400, "code must be a string"),
    Bad("code-with-nul", as_json({"code": "print(1)\0"}), 400, "NUL"),
    Bad("code-repeated-last-a-number", b'{"code": "print(1)", "code": 5}', 400, "code must be a string"),
    Bad("code-over-1-mib", as_json({"code": "#" * (MIB + MIB // 2)}), 413, "1048576"),
    # Other fields
    Bad("stdin-list", as_json({"code": HELLO, "stdin": ["a"]}), 400, "stdin must be a string"),
    Bad("args-string", as_json({"code": HELLO, "args": "a b"}), 400, "args must be an array"),
    Bad("args-numbers", as_json({"code": HELLO, "args": ["a", 2]}), 400, "args[1]"),
    Bad("args-with-nul", as_json({"code": HELLO, "args": ["a\0b"]}), 400, "NUL"),
    Bad("arg-longer-than-exec-takes", as_json({"code": HELLO, "args": ["a" * (MAX_ARG_BYTES + 1)]}), 400,
        str(MAX_ARG_BYTES)),
    Bad("args-past-the-command-line", as_json({"code": HELLO, "args": [""] * 200_000}), 400, "command line"),
    Bad("wait-string", as_json({"code": HELLO, "wait": "yes"}), 400, "wait must be true or false"),
    Bad("wait-query-maybe", as_json({"code": HELLO}), 400, "wait", path="/run-json/?wait=maybe"),
    Bad("unknown-field", as_json({"code": HELLO, "colour": "red"}), 400, "colour"),
    Bad("unknown-environment", as_json({"code": HELLO, "environment": "python2"}), 400, "default"),
    Bad("environment-number", as_json({"code": HELLO, "environment": 3}), 400, "environment must be a string"),
    # Limits
    Bad("limits-string", as_json({"code": HELLO, "limits": "small"}), 400, "limits must be an object"),
    Bad("limit-unknown", as_json({"code": HELLO, "limits": {"swap_mb": 1}}), 400, "swap_mb"),
    Bad("limit-negative", as_json({"code": HELLO, "limits": {"tasks": -1}}), 400, "tasks"),
    Bad("limit-zero", as_json({"code": HELLO, "limits": {"wall_time_s": 0}}), 400, "wall_time_s"),
    Bad("limit-over-maximum", as_json({"code": HELLO, "limits": {"memory_mb": 10**7}}), 400, "2048"),
    Bad("limit-disk-over-maximum", as_json({"code": HELLO, "limits": {"disk_mb": 4097}}), 400,
        "limits.disk_mb must be between 1 and 4096"),
    Bad("limit-disk-zero", as_json({"code": HELLO, "limits": {"disk_mb": 0}}), 400,
        "limits.disk_mb must be between 1 and 4096"),
    Bad("limit-past-uint64", b'{"code": "", "limits": {"tasks": 100000000000000000000000000000}}', 400,
        "whole number"),
    Bad("limit-numeric-string", as_json({"code": HELLO, "limits": {"tasks": "10"}}), 400, "whole number"),
    Bad("limit-fraction", as_json({"code": HELLO, "limits": {"cpu_percent": 1.5}}), 400, "whole number"),
    Bad("limit-boolean", as_json({"code": HELLO, "limits": {"tasks": True}}), 400, "whole number"),
    Bad("limit-null", as_json({"code": HELLO, "limits": {"tasks": None}}), 400, "whole number"),
    # Content types
    Bad("json-as-text-plain", as_json({"code": HELLO}), 415, "application/json", content_type="text/plain"),
    Bad("json-without-content-type", as_json({"code": HELLO}), 415, "application/json", content_type=None),
    Bad("unparseable-content-type", as_json({"code": HELLO}), 415, "HTTP", content_type=";;;=="),
    Bad("file-as-image", b"\x89PNG", 415, "multipart/form-data", path="/run-file/", content_type="image/png"),
    # Multipart
    Bad("form-without-boundary", form(("file", HELLO)), 400, "boundary", path="/run-file/",
        content_type="multipart/form-data"),
    Bad("form-wrong-boundary", form(("file", HELLO), boundary="other"), 400, "boundary", path="/run-file/",
        content_type=FORM),
    Bad("form-empty", b"", 400, "boundary", path="/run-file/", content_type=FORM),
    Bad("form-without-file", form(("options", "{}")), 400, "no part named file", path="/run-file/",
        content_type=FORM),
    Bad("form-two-files", form(("file", HELLO), ("file", HELLO)), 400, "more than one part named file",
        path="/run-file/", content_type=FORM),
    Bad("form-unknown-part", form(("file", HELLO), ("stdin", "x")), 400, "stdin", path="/run-file/",
        content_type=FORM),
    Bad("form-part-without-name", form((None, HELLO)), 400, "name", path="/run-file/", content_type=FORM),
    Bad("form-options-not-json", form(("file", HELLO), ("options", "{nope")), 400, "options part",
        path="/run-file/", content_type=FORM),
    Bad("form-options-with-code", form(("file", HELLO), ("options", '{"code": "x"}')), 400,
        "must not contain code", path="/run-file/", content_type=FORM),
    Bad("form-options-limit-over-maximum", form(("file", HELLO), ("options", '{"limits": {"tasks": 100000}}')),
        400, "tasks", path="/run-file/", content_type=FORM),
    Bad("form-file-with-nul", form(("file", b"print(1)\0")), 400, "NUL", path="/run-file/", content_type=FORM),
    Bad("raw-file-invalid-utf8", b"print('\xe9')\n", 400, "UTF-8", path="/run-file/", content_type="text/x-python"),
    # Paths and methods
    Bad("root-path", b"", 404, "nothing at", path="/", method="GET", content_type=None),
    Bad("unknown-path", b"", 404, "nothing at", path="/admin", method="GET", content_type=None),
    Bad("run-id-with-dot-segments", b"", 404, "nothing at", path="/runs/..%2F..%2Fetc%2Fshadow",
        method="GET", content_type=None),
    Bad("run-id-too-long", b"", 404, "nothing at", path="/runs/" + "a" * 300, method="GET", content_type=None),
    Bad("unknown-run", b"", 404, UNKNOWN_ID, path=f"/runs/{UNKNOWN_ID}", method="GET", content_type=None),
    Bad("unknown-run-stdout", b"", 404, UNKNOWN_ID, path=f"/runs/{UNKNOWN_ID}/stdout", method="GET",
        content_type=None),
    Bad("cancel-unknown-run", b"", 404, UNKNOWN_ID, path=f"/runs/{UNKNOWN_ID}", method="DELETE", content_type=None),
    Bad("put-run-json", as_json({"code": HELLO}), 405, "allowed", method="PUT", allow="POST"),
    Bad("get-run-file", b"", 405, "allowed", path="/run-file/", method="GET", content_type=None, allow="POST"),
    Bad("delete-healthz", b"", 405, "allowed", path="/healthz", method="DELETE", content_type=None, allow="GET"),
    Bad("patch-run", b"", 405, "allowed", path=f"/runs/{UNKNOWN_ID}", method="PATCH", content_type=None,
        allow="GET, DELETE"),
    Bad("post-stdout", b"", 405, "allowed", path=f"/runs/{UNKNOWN_ID}/stdout", method="POST", content_type=None,
        allow="GET"),
]


@pytest.mark.parametrize("bad", [pytest.param(bad, id=bad.name) for bad in TABLE])
def test_malformed_request_gets_its_status_and_a_sentence(server, bad):
    headers = {} if bad.content_type is None else {"Content-Type": bad.content_type}

    response = server.request(bad.method, bad.path, data=bad.body, headers=headers)

    assert response.status_code == bad.status, describe(response)
    if bad.allow:
        assert response.headers.get("Allow") == bad.allow, response.headers
    assert response.headers.get("Content-Type", "").startswith("application/json"), describe(response)
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"].endswith("."), body
    if bad.names:
        assert bad.names.lower() in body["error"].lower(), body


def raw_exchange(server, data, timeout_s=5):
    """Sends bytes on a connection of their own; returns what comes back first."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=CONNECT_TIMEOUT_S) as connection:
        connection.sendall(data)
        connection.settimeout(timeout_s)
        return connection.recv(65536)


RAW_TABLE = [
    # What the HTTP library cannot parse: pyrunner answers it, in JSON, before any route.
    pytest.param(b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400", id="unknown-method"),
    pytest.param(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", b"HTTP/1.1 400", id="invalid-http-version"),
    pytest.param(
        b"POST /run-json/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
        b"HTTP/1.1 400", id="content-length-not-a-number",
    ),
    pytest.param(
        b"POST /run-json/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}",
        b"HTTP/1.1 400", id="content-length-negative",
    ),
    pytest.param(
        b"POST /run-json/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999999999999999999\r\n\r\n{}",
        b"HTTP/1.1 4", id="content-length-overflows",
    ),
]


@pytest.mark.parametrize("data, status_line", RAW_TABLE)
def test_malformed_http_is_refused_in_json(server, data, status_line):
    # With a token, so that what is refused is the request's form, not a missing token.
    data = data.replace(b"Host: x\r\n", b"Host: x\r\nAuthorization: Bearer %s\r\n" % server.token.encode(), 1)
    answer = raw_exchange(server, data)

    assert answer.startswith(status_line), answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head, answer[:300]
    assert json.loads(body)["error"], answer[:300]


class Uploader:
    """Declares a size-byte body on a connection of its own and sends it from a thread: the head
    and the first 5 MiB in one write, then the rest unless `pause` (a client waiting for an
    early answer) or until told to stop."""

    CHUNK = b"#" * 65536
    FIRST = 5 * MIB

    def __init__(self, server, size, pause, content_type="text/x-python", path="/run-file/"):
        address = urlsplit(server.base_url)
        self.connection = socket.create_connection((address.hostname, address.port), timeout=CONNECT_TIMEOUT_S)
        self.head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                     f"Authorization: Bearer {server.token}\r\n"
                     f"Content-Length: {size}\r\n\r\n").encode()
        self.size = self.FIRST if pause else size
        self.stop = threading.Event()
        self.sender = threading.Thread(target=self.send, daemon=True)
        self.sender.start()

    def send(self):
        try:
            self.connection.sendall(self.head + b"#" * self.FIRST)
            sent = self.FIRST
            while sent < self.size and not self.stop.is_set():
                sent += self.connection.send(self.CHUNK[: self.size - sent])
        except OSError:
            pass  # the server hung up, or we did

    def answer(self, timeout_s):
        self.connection.settimeout(timeout_s)
        return self.connection.recv(65536)

    def close(self):
        self.stop.set()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the server has hung up already
        self.sender.join(timeout=10)
        self.connection.close()


def test_a_body_past_max_request_mb_is_refused_before_it_arrives(server):
    # The declared length is refused as soon as the headers are in, in JSON; the client that
    # waits after its first 5 MiB gets the answer and the end of the stream, not a reset.
    upload = Uploader(server, 100 * MIB, pause=True)
    try:
        answer = upload.answer(timeout_s=10)
        ending = upload.answer(timeout_s=10)
    finally:
        upload.close()

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head
    assert json.loads(body)["error"] == f"The request body is {100 * MIB} bytes; the limit is {64 * MIB} bytes."
    assert ending == b""
    assert server.get("/healthz").status_code == 200


def test_an_oversized_chunked_body_is_413(server):
    # No length declared: the body is buffered until it passes the limit, then refused.
    chunk = b"#" * 65536
    # Past max_request_mb (64 by default).
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(1040)) + b"0\r\n\r\n"
    head = (b"POST /run-file/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-python\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")

    answer = raw_exchange(server, head + chunked)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"].startswith("The request is larger than")


def test_oversized_uploads_do_not_starve_other_requests(server_factory):
    # A server of its own with the fewest threads, so four streamed uploads far past the limit
    # would hold every one of them if a refused connection were still parsed.
    attacked = server_factory(extra_args=("--http-threads", "1"))
    uploads = [Uploader(attacked, 100 * MIB, pause=False) for _ in range(4)]
    try:
        for _ in range(3):
            assert attacked.get("/healthz", read_timeout_s=5).status_code == 200
        for upload in uploads:
            assert upload.answer(timeout_s=10).startswith(b"HTTP/1.1 413")
    finally:
        for upload in uploads:
            upload.close()


def test_fifty_thousand_arguments_are_run_faithfully(server):
    # Decided: the contract sets no count of arguments, only their bytes; 50 000 one-byte
    # arguments (under 1 MiB) are a legitimate run, and it gets its verdict.
    args = [str(i % 10) for i in range(50_000)]
    code = "import sys\nprint(len(sys.argv) - 1, ''.join(sys.argv[1:11]))\n"

    run = server.run(code, args=args, limits={"wall_time_s": 20})

    assert run["status"] == "succeeded", run
    assert run["stdout"] == "50000 0123456789\n"


SLOW_LORIS = [
    b"GET /heal",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
    b"POST /run-json/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"co",
    b"POST /run-file/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-python\r\nContent-Len",
] * 3


def test_half_sent_requests_do_not_stop_the_server_answering_others(server):
    address = urlsplit(server.base_url)
    stalled = []
    try:
        for partial in SLOW_LORIS:
            connection = socket.create_connection((address.hostname, address.port), timeout=CONNECT_TIMEOUT_S)
            connection.sendall(partial)
            stalled.append(connection)

        for _ in range(3):
            started = time.monotonic()
            assert server.get("/healthz", read_timeout_s=5).status_code == 200
            assert time.monotonic() - started < 2
        assert server.run(HELLO)["stdout"] == "hello\n"
        # The stalled ones are still waiting: the server neither answered nor dropped them
        # (it gives them its 30 s request timeout, then a 408).
        for connection in stalled:
            connection.settimeout(0.1)
            with pytest.raises(socket.timeout):
                connection.recv(1)
    finally:
        for connection in stalled:
            connection.close()


def test_server_is_healthy_after_the_bad_input(server):
    health = server.get("/healthz")

    assert health.status_code == 200 and health.json()["status"] == "ok", describe(health)
    assert server.run(HELLO)["status"] == "succeeded"
