"""Bounded concurrency: a full queue is refused with 429, and the server keeps answering
while runs are in flight."""

import threading
import time

import requests

from api_client import READ_TIMEOUT_S, assert_error_body, describe

SLEEPER = "import time\ntime.sleep(30)\n"


def cancel_all(server, runs):
    for run in runs:
        server.delete(f"/runs/{run['id']}")


def test_full_queue_answers_429_with_retry_after(server_factory):
    server = server_factory(max_running=1, max_queued=1)
    running = server.submit(SLEEPER)
    server.wait_until_running(running["id"])
    queued = server.submit(SLEEPER)
    try:
        assert queued["status"] == "queued", queued

        response = server.post("/run-json/", json={"code": SLEEPER, "wait": False})

        assert_error_body(response, 429)
        retry_after = response.headers.get("Retry-After", "")
        assert retry_after.isdigit() and int(retry_after) >= 1, describe(response)
    finally:
        cancel_all(server, [running, queued])


def test_queued_run_starts_when_a_slot_frees(server_factory):
    server = server_factory(max_running=1, max_queued=1)
    first = server.submit(SLEEPER)
    server.wait_until_running(first["id"])
    second = server.submit('print("second")\n')
    assert second["status"] == "queued", second

    server.delete(f"/runs/{first['id']}")

    final = server.wait_until_final(second["id"], timeout_s=20)
    assert final["status"] == "succeeded", final
    assert final["stdout"] == "second\n"


def test_healthz_answers_while_four_runs_sleep(server_factory, capsys):
    server = server_factory(max_running=4, max_queued=4)
    runs = [server.submit("import time\ntime.sleep(5)\n") for _ in range(4)]
    try:
        for run in runs:
            server.wait_until_running(run["id"])

        started = time.monotonic()
        response = server.get("/healthz")
        elapsed_ms = (time.monotonic() - started) * 1000

        # Shown, not asserted: a latency bound belongs in a benchmark, not in a test on a shared host.
        with capsys.disabled():
            print(f"\nGET /healthz with 4 runs in flight took {elapsed_ms:.1f} ms")
        assert response.status_code == 200, describe(response)
        assert response.json()["status"] == "ok"
        assert all(server.get_run(run["id"])["status"] == "running" for run in runs)
    finally:
        cancel_all(server, runs)


def test_blocking_submissions_do_not_hold_up_other_requests(server_factory):
    server = server_factory(max_running=3, max_queued=4)
    answers = []

    def submit_blocking():
        # Each thread its own connection: a requests.Session is not thread-safe.
        answers.append(
            requests.post(
                server.base_url + "/run-json/",
                json={"code": "import time\ntime.sleep(6)\n"},
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=(5, READ_TIMEOUT_S),
            )
        )

    waiters = [threading.Thread(target=submit_blocking) for _ in range(2)]
    for waiter in waiters:
        waiter.start()

    hello = server.run('print("hello")\n')
    health = server.get("/healthz")
    still_waiting = sum(waiter.is_alive() for waiter in waiters)

    for waiter in waiters:
        waiter.join(timeout=READ_TIMEOUT_S)
    assert hello["status"] == "succeeded", hello
    assert health.status_code == 200, describe(health)
    assert still_waiting == 2, "the blocking submissions ended before the other requests were answered"
    assert [answer.status_code for answer in answers] == [200, 200]
