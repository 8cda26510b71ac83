"""Bad requests: each gets its status and a JSON body {"error": "..."}, never a 500 or a hang."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from api_client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, assert_error_body

HELLO = 'print("hello")\n'
# [server] max_request_mb's default.
MAX_BODY_BYTES = 64 * 1024 * 1024
TOO_BIG = "#" * (65 * 1024 * 1024)


def post_json_text(server, text, path="/run-json/"):
    return server.post(path, data=text.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "body",
    ['{"code": ', "not json at all", '{"code": "print(1)"} trailing', ""],
    ids=["truncated", "not-json", "trailing-garbage", "empty"],
)
def test_malformed_json_is_400(server, body):
    assert_error_body(post_json_text(server, body), 400)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"stdin": "no code"},
        {"code": 5},
        {"code": None},
        {"code": HELLO, "args": "not a list"},
        {"code": HELLO, "args": [1, 2]},
        {"code": HELLO, "stdin": ["not", "a", "string"]},
        {"code": HELLO, "wait": "yes"},
        {"code": HELLO, "limits": {"memory_mb": "lots"}},
        {"code": HELLO, "limits": {"wall_time_s": -1}},
        {"code": HELLO, "limits": "none"},
        ["code", HELLO],
    ],
    ids=[
        "empty-object", "missing-code", "code-number", "code-null", "args-string", "args-numbers",
        "stdin-list", "wait-string", "limit-string", "limit-negative", "limits-string", "array",
    ],
)
def test_missing_or_mistyped_field_is_400(server, body):
    assert_error_body(post_json_text(server, json.dumps(body)), 400)


def test_unknown_environment_is_400(server):
    message = assert_error_body(post_json_text(server, json.dumps({"code": HELLO, "environment": "no-such-env"})), 400)
    assert "environment" in message.lower()


@pytest.mark.parametrize(
    "limit, value",
    [
        ("wall_time_s", 10**6), ("cpu_time_s", 10**6), ("memory_mb", 10**7), ("tasks", 10**6),
        ("output_bytes", 2**40), ("disk_mb", 4097),
    ],
)
def test_limit_above_its_maximum_is_400_naming_the_limit(server, limit, value):
    body = {"code": HELLO, "limits": {limit: value}}

    message = assert_error_body(post_json_text(server, json.dumps(body)), 400)

    assert limit in message


def test_limit_above_maximum_in_multipart_options_is_400(server):
    options = json.dumps({"limits": {"memory_mb": 10**7}})
    response = server.post("/run-file/", files={"file": ("hello.py", HELLO), "options": (None, options)})

    assert "memory_mb" in assert_error_body(response, 400)


def test_multipart_without_file_part_is_400(server):
    response = server.post("/run-file/", files={"options": (None, "{}")})

    assert_error_body(response, 400)


def test_unknown_run_is_404_on_every_run_endpoint(server):
    for method, path in [
        ("GET", "/runs/no-such-run"),
        ("GET", "/status/no-such-run"),
        ("GET", "/runs/no-such-run/stdout"),
        ("GET", "/runs/no-such-run/stderr"),
        ("DELETE", "/runs/no-such-run"),
    ]:
        assert_error_body(server.request(method, path), 404)


@pytest.mark.parametrize("path", ["/", "/nope", "/run-json/extra", "/runs/", "/v2/run-json/"])
def test_unknown_path_is_404(server, path):
    assert_error_body(server.get(path), 404)


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/run-json/"), ("GET", "/run-file/"), ("PUT", "/run-json/"), ("POST", "/healthz"), ("POST", "/runs/x")],
)
def test_wrong_method_is_405(server, method, path):
    assert_error_body(server.request(method, path), 405)


@pytest.mark.parametrize(
    "path, content_type",
    [("/run-json/", "text/plain"), ("/run-json/", "application/xml"), ("/run-file/", "image/png"),
     ("/run-file/", "application/json")],
)
def test_unsupported_content_type_is_415(server, path, content_type):
    response = server.post(path, data=json.dumps({"code": HELLO}).encode(), headers={"Content-Type": content_type})

    assert_error_body(response, 415)


@pytest.mark.parametrize("path, content_type", [("/run-json/", "application/json"), ("/run-file/", "text/x-python")])
def test_body_over_max_request_mb_is_413(server, path, content_type):
    # A valid document, only too big: the size alone must decide.
    body = json.dumps({"code": TOO_BIG}) if content_type == "application/json" else TOO_BIG
    assert len(body) > MAX_BODY_BYTES

    # A connection of its own: a server may answer before it has read the body, and the
    # shared connection of the other tests must not inherit what is left of it.
    with requests.Session() as alone:
        response = alone.post(
            server.base_url + path, data=body.encode(), headers={"Content-Type": content_type},
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        )

    assert_error_body(response, 413)


def test_connection_kept_open_after_a_413_serves_the_next_request(server):
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=READ_TIMEOUT_S)
    try:
        connection.request("POST", "/run-file/", body=TOO_BIG.encode(), headers={"Content-Type": "text/x-python"})
        first = connection.getresponse()
        first.read()
        assert first.status == 413
        if first.will_close:
            return  # closing the connection is a fine answer too
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        assert second.status == 200, second.read()[:200]
    finally:
        connection.close()


def test_server_still_answers_after_bad_requests(server):
    post_json_text(server, '{"code": ')
    server.post("/run-json/", data=b"\x00\xff" * 100, headers={"Content-Type": "application/json"})

    assert server.run(HELLO)["status"] == "succeeded"
