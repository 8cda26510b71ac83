"""Submitting a script through every form the API accepts, and the Run object it answers."""

import json

import pytest

from api_client import assert_run_object, describe, is_number, parse_time

HELLO = 'print("hello")\n'
# Echoes what the run was given, so one script checks args and stdin at once.
ECHO = "import json, sys\nprint(json.dumps({'args': sys.argv[1:], 'stdin': sys.stdin.read()}))\n"


def assert_hello_succeeded(run):
    assert_run_object(run)
    assert run["status"] == "succeeded", run
    assert run["stdout"] == "hello\n"
    assert run["stderr"] == ""
    assert run["exit_code"] == 0
    assert run["signal"] is None
    assert run["error"] is None
    assert run["stdout_truncated"] is False and run["stderr_truncated"] is False


def test_hello_uploaded_as_multipart_file_part_succeeds(server):
    response = server.post("/run-file/", files={"file": ("hello.py", HELLO)})

    assert response.status_code == 200, describe(response)
    assert response.headers["Content-Type"].startswith("application/json")
    run = response.json()
    assert_hello_succeeded(run)
    assert run["environment"] == "default"


def test_finished_run_reports_its_measurements_and_times(server):
    run = server.run(HELLO)

    assert_hello_succeeded(run)
    for name in ("duration_ms", "cpu_time_ms", "memory_peak_bytes"):
        assert is_number(run[name]) and run[name] >= 0, f"{name}: {run[name]!r}"
    assert run["memory_peak_bytes"] > 0
    assert run["started_at"] is not None and run["finished_at"] is not None
    assert parse_time(run["created_at"]) <= parse_time(run["started_at"]) <= parse_time(run["finished_at"])


def test_multipart_options_part_sets_args_stdin_and_limits(server):
    options = {"args": ["one", "two words"], "stdin": "from stdin\n", "limits": {"wall_time_s": 5, "memory_mb": 128}}

    response = server.post(
        "/run-file/",
        files={"file": ("echo.py", ECHO), "options": (None, json.dumps(options), "application/json")},
    )

    assert response.status_code == 200, describe(response)
    run = response.json()
    assert_run_object(run)
    assert run["status"] == "succeeded", run
    assert json.loads(run["stdout"]) == {"args": ["one", "two words"], "stdin": "from stdin\n"}
    assert run["limits"]["wall_time_s"] == 5
    assert run["limits"]["memory_mb"] == 128


def test_disk_mb_is_taken_and_kept_in_the_run_object(server):
    assert server.run(HELLO)["limits"]["disk_mb"] == 512

    run = server.run(HELLO, limits={"disk_mb": 64})

    assert_hello_succeeded(run)
    assert run["limits"]["disk_mb"] == 64
    response = server.get(f"/runs/{run['id']}")
    assert response.status_code == 200, describe(response)
    assert response.json()["limits"]["disk_mb"] == 64


@pytest.mark.parametrize("content_type", ["text/x-python", "text/plain", "application/octet-stream"])
def test_raw_body_is_run_as_the_script(server, content_type):
    response = server.post("/run-file/", data=HELLO.encode(), headers={"Content-Type": content_type})

    assert response.status_code == 200, describe(response)
    assert_hello_succeeded(response.json())


def test_run_json_passes_stdin_and_args(server):
    run = server.run(ECHO, stdin="line one\nline two\n", args=["--flag", "värde", ""])

    assert_run_object(run)
    assert run["status"] == "succeeded", run
    assert json.loads(run["stdout"]) == {"args": ["--flag", "värde", ""], "stdin": "line one\nline two\n"}


def test_run_json_names_the_unit_it_ran_in(server):
    first = server.run(HELLO)
    second = server.run(HELLO)

    assert first["id"] != second["id"]
    assert first["unit"] != second["unit"]


def test_paths_work_without_trailing_slash(server):
    response = server.post("/run-json", json={"code": HELLO})

    assert response.status_code == 200, describe(response)
    run = response.json()
    assert_hello_succeeded(run)
    assert server.get(f"/runs/{run['id']}/").status_code == 200
    assert server.get(f"/status/{run['id']}/").status_code == 200
    assert server.get("/healthz/").status_code == 200
