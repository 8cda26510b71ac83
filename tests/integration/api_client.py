"""A small client of the pyrunner HTTP API (api-v1) for the integration tests.

Every request is bounded by a timeout. Blocking submissions (wait=true) are the way to await
a run; only the asynchronous path, whose whole point is to answer at once, is polled.
"""

import datetime
import re
import time

import requests

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 30
POLL_INTERVAL_S = 0.1

FINAL_STATUSES = frozenset(
    {"succeeded", "failed", "timed_out", "out_of_memory", "output_limit_exceeded", "cancelled", "error"}
)
STATUSES = FINAL_STATUSES | {"queued", "running"}
LIMIT_NAMES = ("wall_time_s", "cpu_time_s", "memory_mb", "cpu_percent", "tasks", "output_bytes", "disk_mb")
RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
UNIT_NAME = re.compile(r"pyrunner-.+\.service")
RUN_ID = re.compile(r"[A-Za-z0-9_-]+")


def describe(response):
    """One line for assertion messages: what was asked and what came back."""
    return f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:2000]!r}"


class Client:
    def __init__(self, base_url, token=None):
        self.base_url = base_url
        self.http = requests.Session()
        self.token = token
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def as_tenant(self, token):
        """A client of the same server that sends `token` instead."""
        return Client(self.base_url, token)

    def request(self, method, path, read_timeout_s=READ_TIMEOUT_S, **kwargs):
        return self.http.request(
            method, self.base_url + path, timeout=(CONNECT_TIMEOUT_S, read_timeout_s), **kwargs
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def run(self, code, **fields):
        """Runs code with wait=true and returns the finished Run object."""
        wall_s = fields.get("limits", {}).get("wall_time_s", 10)
        response = self.post(
            "/run-json/", json={"code": code, **fields}, read_timeout_s=wall_s + READ_TIMEOUT_S
        )
        assert response.status_code == 200, describe(response)
        return response.json()

    def submit(self, code, **fields):
        """Submits code with wait=false and returns the Run object of the 202 answer."""
        response = self.post("/run-json/", json={"code": code, "wait": False, **fields})
        assert response.status_code == 202, describe(response)
        return response.json()

    def get_run(self, run_id, path="/runs/"):
        response = self.get(path + run_id)
        assert response.status_code == 200, describe(response)
        return response.json()

    def wait_for_status(self, run_id, statuses, timeout_s=30, path="/runs/"):
        """Polls the run until its status is one of statuses (the API offers no blocking GET)."""
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.get_run(run_id, path)
            if run["status"] in statuses:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout_s}s"
            time.sleep(POLL_INTERVAL_S)

    def wait_until_final(self, run_id, timeout_s=30, path="/runs/"):
        return self.wait_for_status(run_id, FINAL_STATUSES, timeout_s, path)

    def wait_until_running(self, run_id, timeout_s=30):
        run = self.wait_for_status(run_id, FINAL_STATUSES | {"running"}, timeout_s)
        assert run["status"] == "running", f"run ended before it was seen running: {run}"
        return run


def parse_time(text):
    """An RFC 3339 timestamp as an aware datetime (fromisoformat takes at most 6 fraction digits)."""
    match = RFC3339.fullmatch(text)
    assert match, f"not RFC 3339: {text!r}"
    seconds, fraction, offset = match.groups()
    fraction = (fraction or ".0")[:7]
    offset = "+00:00" if offset in ("Z", "z") else offset
    return datetime.datetime.fromisoformat(seconds.replace("t", "T") + fraction + offset)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def assert_run_object(run):
    """Checks that run carries every field of the contract's Run object with its type."""
    expected = {
        "id", "status", "exit_code", "signal", "stdout", "stderr", "stdout_truncated",
        "stderr_truncated", "duration_ms", "cpu_time_ms", "memory_peak_bytes", "unit",
        "environment", "limits", "created_at", "started_at", "finished_at", "error",
    }
    assert expected <= run.keys(), f"missing fields {sorted(expected - run.keys())} in {run}"
    assert isinstance(run["id"], str) and RUN_ID.fullmatch(run["id"]), run["id"]
    assert run["status"] in STATUSES, run["status"]
    assert run["exit_code"] is None or (isinstance(run["exit_code"], int) and not isinstance(run["exit_code"], bool))
    assert run["signal"] is None or isinstance(run["signal"], str)
    for name in ("stdout", "stderr", "environment", "created_at"):
        assert isinstance(run[name], str), f"{name}: {run[name]!r}"
    for name in ("stdout_truncated", "stderr_truncated"):
        assert isinstance(run[name], bool), f"{name}: {run[name]!r}"
    for name in ("duration_ms", "cpu_time_ms", "memory_peak_bytes"):
        assert run[name] is None or is_number(run[name]), f"{name}: {run[name]!r}"
    assert isinstance(run["unit"], str) and UNIT_NAME.fullmatch(run["unit"]), run["unit"]
    assert isinstance(run["limits"], dict) and set(LIMIT_NAMES) <= run["limits"].keys(), run["limits"]
    for name in LIMIT_NAMES:
        assert is_number(run["limits"][name]), f"limits.{name}: {run['limits'][name]!r}"
    parse_time(run["created_at"])
    for name in ("started_at", "finished_at"):
        assert run[name] is None or parse_time(run[name])
    assert run["error"] is None or isinstance(run["error"], str)
    if run["status"] in FINAL_STATUSES:
        assert run["finished_at"] is not None, run


def assert_error_body(response, status):
    """Checks an error answer: the status, and a JSON body {"error": "<sentence>"}."""
    assert response.status_code == status, describe(response)
    assert response.headers.get("Content-Type", "").startswith("application/json"), describe(response)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip(), body
    return body["error"]
