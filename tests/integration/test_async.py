"""The asynchronous path: wait=false, reading a run while and after it runs, cancelling it."""

from api_client import assert_run_object, describe

SLEEPER = "import time\ntime.sleep(30)\n"
# Valid UTF-8 around two bytes that are not, on both streams.
RAW_OUTPUT = (
    "import sys, time\n"
    "time.sleep(1)\n"
    "sys.stdout.buffer.write(b'caf\\xc3\\xa9 \\xff\\xfe end\\n')\n"
    "sys.stderr.buffer.write(b'err \\x80 end')\n"
)
RAW_STDOUT = b"caf\xc3\xa9 \xff\xfe end\n"
RAW_STDERR = b"err \x80 end"


def test_wait_false_answers_202_with_location_and_the_run_reaches_a_final_status(server):
    response = server.post("/run-json/", json={"code": RAW_OUTPUT, "wait": False})

    assert response.status_code == 202, describe(response)
    run = response.json()
    assert_run_object(run)
    assert run["status"] in ("queued", "running"), run
    assert run["exit_code"] is None
    assert response.headers.get("Location") == f"/runs/{run['id']}"

    final = server.wait_until_final(run["id"], path="/status/")
    assert_run_object(final)
    assert final["status"] == "succeeded", final
    assert final["id"] == run["id"]
    assert server.get_run(run["id"]) == final


def test_query_parameter_wait_false_overrides_the_body(server):
    response = server.post("/run-file/?wait=false", data=SLEEPER.encode(), headers={"Content-Type": "text/x-python"})

    assert response.status_code == 202, describe(response)
    run_id = response.json()["id"]
    assert server.delete(f"/runs/{run_id}").status_code == 200


def test_raw_output_endpoints_return_the_exact_bytes_and_json_replaces_invalid_ones(server):
    run = server.submit(RAW_OUTPUT)
    final = server.wait_until_final(run["id"])

    assert final["status"] == "succeeded", final
    stdout = server.get(f"/runs/{run['id']}/stdout")
    stderr = server.get(f"/runs/{run['id']}/stderr")
    assert stdout.status_code == 200 and stderr.status_code == 200
    assert stdout.headers["Content-Type"].startswith("application/octet-stream")
    assert stdout.content == RAW_STDOUT
    assert stderr.content == RAW_STDERR
    assert final["stdout"] == RAW_STDOUT.decode("utf-8", errors="replace") == "café \ufffd\ufffd end\n"
    assert final["stderr"] == RAW_STDERR.decode("utf-8", errors="replace")


def test_cancelling_a_running_run_ends_it_cancelled(server):
    run = server.submit(SLEEPER)
    server.wait_until_running(run["id"])

    response = server.delete(f"/runs/{run['id']}")

    assert response.status_code == 200, describe(response)
    assert_run_object(response.json())
    final = server.wait_until_final(run["id"], timeout_s=15)
    assert final["status"] == "cancelled", final


def test_cancelling_twice_is_harmless(server):
    run = server.submit(SLEEPER)
    assert server.delete(f"/runs/{run['id']}").status_code == 200
    server.wait_until_final(run["id"], timeout_s=15)

    again = server.delete(f"/runs/{run['id']}")

    assert again.status_code == 200, describe(again)
    assert again.json()["status"] == "cancelled"


def test_cancelling_a_finished_run_leaves_it_as_it_was(server):
    run = server.run('print("hello")\n')
    assert run["status"] == "succeeded", run

    response = server.delete(f"/runs/{run['id']}")

    assert response.status_code == 200, describe(response)
    assert response.json()["status"] == "succeeded"
    assert server.get_run(run["id"])["status"] == "succeeded"
    assert server.get(f"/runs/{run['id']}/stdout").content == b"hello\n"

