"""Nothing lost: accepted runs survive the server's crash and restart, the broker's restart
and systemd reloading or re-executing itself; finished runs expire; a stopping server tells
blocking callers where to poll; cancelling works on queued and running runs."""

import os
import signal
import threading
import time
import uuid

import pytest
import requests

from api_client import describe
from deployment import BROKER_UNIT, FRONT_USER, STATE_DIR

# Long enough to be caught in flight, short enough to keep the suite quick.
SLOW = "import time\ntime.sleep({seconds})\nprint({marker!r})\n"


def slow(marker, seconds=3):
    return SLOW.format(seconds=seconds, marker=marker)


def assert_finished_as_expected(server, runs, timeout_s=60):
    """Each of `runs` (marker -> run id) ends succeeded with exactly its own output."""
    for marker, run_id in runs.items():
        final = server.wait_until_final(run_id, timeout_s=timeout_s)
        assert final["status"] == "succeeded", final
        assert final["stdout"] == f"{marker}\n", final
        assert final["exit_code"] == 0, final


@pytest.mark.vm
def test_runs_survive_the_server_being_killed(server_factory, machine, restart):
    # Two running, three queued when the server dies without a word.
    server = server_factory(max_running=2, max_queued=8)
    runs = {f"run-{i}": server.submit(slow(f"run-{i}"))["id"] for i in range(5)}
    server.wait_until_running(runs["run-0"])

    restarted = restart(server, signal="SIGKILL")

    assert_finished_as_expected(restarted, runs)
    assert "took over 5 unfinished runs" in machine.journal("-u", server.unit)


def test_runs_that_ended_while_the_server_was_down_keep_their_verdict(server_factory, machine, restart):
    server = server_factory()
    run_id = server.submit("import sys\nprint('out')\nsys.exit(3)\n")["id"]
    machine.run("systemctl", "kill", "--signal=SIGKILL", server.unit, check=False)
    machine.run("systemctl", "stop", server.unit, check=False)
    # The run ends with nobody following it; its unit is collected.
    time.sleep(3)

    restarted = restart(server)

    final = restarted.wait_until_final(run_id)
    assert final["status"] == "failed", final
    assert final["exit_code"] == 3 and final["stdout"] == "out\n", final


def test_a_graceful_stop_tells_a_blocking_caller_where_to_poll(server_factory, machine, restart):
    server = server_factory()
    marker = "after-stop"

    def stop_soon():
        time.sleep(1)
        machine.run("systemctl", "stop", server.unit)

    stopper = threading.Thread(target=stop_soon)
    stopper.start()
    response = server.post("/run-json/", json={"code": slow(marker)}, read_timeout_s=30)
    stopper.join()

    assert response.status_code == 503, describe(response)
    location = response.headers["Location"]
    assert location.startswith("/runs/") and location[len("/runs/"):] in response.json()["error"]
    restarted = restart(server)
    assert_finished_as_expected(restarted, {marker: location[len("/runs/"):]})


@pytest.mark.vm
def test_runs_survive_the_broker_restarting(server_factory, machine, broker_starter):
    server = server_factory()
    runs = {f"broker-{i}": server.submit(slow(f"broker-{i}", seconds=4))["id"] for i in range(2)}
    server.wait_until_running(runs["broker-0"])

    machine.run("systemctl", "kill", "--signal=SIGKILL", BROKER_UNIT, check=False)
    machine.run("systemctl", "stop", BROKER_UNIT, check=False)
    try:
        # The front notices the broker's name going away and says so.
        deadline = time.monotonic() + 10
        while server.get("/healthz").status_code != 503:
            assert time.monotonic() < deadline, "/healthz never reported the broker gone"
            time.sleep(0.2)
        refused = server.post("/run-json/", json={"code": "print(1)"})
        assert refused.status_code == 503, describe(refused)
    finally:
        broker_starter()

    assert_finished_as_expected(server, runs)
    assert server.get("/healthz").status_code == 200


# Past the cap while no broker watches, then waiting: only a broker that follows it again
# and finds its output past the cap ends it (by SIGKILL) before its sleep is over.
PASSED_WHILE_AWAY = "import sys, time\ntime.sleep(2)\nsys.stdout.write('a' * 5000)\nsys.stdout.flush()\ntime.sleep(40)\n"
# Under the cap until long after the broker is back, then flooding: held to the cap by the
# restarted broker's watch, not by LimitFSIZE= (where Python, ignoring SIGXFSZ, gets EFBIG).
FLOODS_AFTER = ("import sys, time\ntime.sleep(2)\nsys.stdout.write('c' * 500)\nsys.stdout.flush()\n"
                "time.sleep(14)\nwhile True:\n    sys.stdout.write('c' * 65536)\n")


def stdout_size(machine, run_id):
    return int(machine.run("stat", "-c", "%s", f"{STATE_DIR}/runs/{run_id}/stdout").stdout)


@pytest.mark.vm
def test_a_restarted_broker_holds_runs_to_their_output_cap_again(server_factory, machine,
                                                                 broker_starter):
    server = server_factory()
    limits = {"output_bytes": 1000, "wall_time_s": 50}
    away = server.submit(PASSED_WHILE_AWAY, limits=limits)["id"]
    after = server.submit(FLOODS_AFTER, limits={**limits, "disk_mb": 64})["id"]
    server.wait_until_running(away)
    server.wait_until_running(after)

    machine.run("systemctl", "kill", "--signal=SIGKILL", BROKER_UNIT, check=False)
    machine.run("systemctl", "stop", BROKER_UNIT, check=False)
    try:
        deadline = time.monotonic() + 20
        while stdout_size(machine, away) <= 1000:
            assert time.monotonic() < deadline, "the run never wrote past its cap"
            time.sleep(0.2)
    finally:
        broker_starter()
    assert stdout_size(machine, after) == 500, "the flood began before the broker was back"

    for run_id in (away, after):
        final = server.wait_until_final(run_id, timeout_s=40)
        assert final["status"] == "output_limit_exceeded", final
        assert final["signal"] == "SIGKILL", final
        assert final["stdout_truncated"], final
        assert stdout_size(machine, run_id) == 1001


@pytest.mark.vm
def test_runs_survive_systemd_reloading_and_reexecuting(server, machine):
    runs = {f"reload-{i}": server.submit(slow(f"reload-{i}", seconds=4))["id"] for i in range(2)}
    server.wait_until_running(runs["reload-0"])

    machine.run("systemctl", "daemon-reload")
    machine.run("systemctl", "daemon-reexec")

    assert_finished_as_expected(server, runs)
    assert server.run("print('still here')")["stdout"] == "still here\n"


def wait_until_the_broker_is_idle(machine, timeout_s=30):
    """The other fronts, seeing the broker back, refill their warm pools: its calls to systemd
    (a slice's caps, a unit's start) are made one at a time on its bus thread. Until they are
    done, a call the test queues would reach systemd only after it has re-executed. Polled:
    systemd tells nobody that its job queue has emptied."""
    deadline = time.monotonic() + timeout_s
    while machine.run("systemctl", "list-jobs", "--no-legend", check=False).stdout.strip():
        assert time.monotonic() < deadline, "systemd's jobs did not finish"
        time.sleep(0.2)
    # A call the broker answers comes after every call it had begun.
    assert machine.run("setpriv", f"--reuid={FRONT_USER}", f"--regid={FRONT_USER}", "--clear-groups",
                       "busctl", "call", "org.pyrunner.Broker1", "/org/pyrunner/Broker1",
                       "org.pyrunner.Broker1", "Layers", check=False).returncode == 0


def test_a_run_a_restarted_broker_looks_up_while_systemd_reexecutes_keeps_its_files(
        server_factory, machine, restart, broker_starter):
    if machine.target == "host":
        pytest.skip("freezes the test machine's systemd, which a host's PID 1 cannot be")
    server = server_factory()
    marker = "through-reexec"
    run_id = server.submit(slow(marker, seconds=12), limits={"wall_time_s": 30})["id"]
    server.wait_until_running(run_id)
    # No front to ask the restarted broker to follow the run: the test asks, at its moment.
    for unit in (server.unit, BROKER_UNIT):
        machine.run("systemctl", "kill", "--signal=SIGKILL", unit, check=False)
        machine.run("systemctl", "stop", unit, check=False)
    broker_starter()
    wait_until_the_broker_is_idle(machine)

    # systemctl daemon-reexec's call, queued on the bus ahead of the broker's GetUnit while
    # systemd is stopped: the old instance goes without answering the GetUnit (NoReply). Its
    # caller stays connected, since systemd checks who asks before it re-executes.
    def call_in_background(*command):
        answers = []
        thread = threading.Thread(target=lambda: answers.append(machine.run(*command, check=False)))
        thread.start()
        return thread, answers

    systemd = int(machine.target)
    os.kill(systemd, signal.SIGSTOP)
    try:
        reexec, _ = call_in_background(
            "busctl", "--timeout=60", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", "Reexecute")
        # Each call is given time to be queued before the next.
        time.sleep(0.5)
        asker, followed = call_in_background(
            "setpriv", f"--reuid={FRONT_USER}", f"--regid={FRONT_USER}", "--clear-groups",
            "busctl", "--timeout=60", "call", "org.pyrunner.Broker1", "/org/pyrunner/Broker1",
            "org.pyrunner.Broker1", "FollowRun", "s", run_id)
        time.sleep(1)
    finally:
        os.kill(systemd, signal.SIGCONT)
    reexec.join(timeout=60)
    asker.join(timeout=60)

    assert followed and followed[0].stdout.strip() == 's "following"', followed
    assert machine.run("test", "-d", f"{STATE_DIR}/runs/{run_id}", check=False).returncode == 0
    assert "is looked up once it is back" in machine.journal("-u", BROKER_UNIT, "-o", "cat")
    machine.run("systemctl", "is-system-running", "--wait", check=False)
    restarted = restart(server)
    assert_finished_as_expected(restarted, {marker: run_id})


def test_stray_run_units_are_stopped_at_start_up(server_factory, machine):
    stray = f"pyrunner-{uuid.uuid4().hex}.service"
    machine.run("systemd-run", "--quiet", "--collect", f"--unit={stray}", "--property=Type=exec", "sleep", "300")

    server = server_factory()

    # The server asks for the stop as it starts; the unit goes a moment later.
    deadline = time.monotonic() + 10
    while machine.run("systemctl", "is-active", stray, check=False).stdout.strip() == "active":
        assert time.monotonic() < deadline, f"{stray} is still running"
        time.sleep(0.2)
    assert f"stopped {stray}" in machine.journal("-u", server.unit)


def test_finished_runs_expire(server_factory, machine):
    server = server_factory(extra_args=("--retention-seconds", "2"))
    run_id = server.run("print('soon gone')")["id"]

    deadline = time.monotonic() + 15
    while server.get(f"/runs/{run_id}").status_code == 200:
        assert time.monotonic() < deadline, "the run outlived its retention"
        time.sleep(0.5)

    gone = server.get(f"/runs/{run_id}")
    assert gone.status_code == 404, describe(gone)
    assert server.get(f"/runs/{run_id}/stdout").status_code == 404
    # Every file the broker kept for it goes with it, its directory too.
    directory = f"{STATE_DIR}/runs/{run_id}"
    while machine.run("test", "-e", directory, check=False).returncode == 0:
        assert time.monotonic() < deadline, f"{directory} outlived its run"
        time.sleep(0.5)


def test_the_oldest_runs_go_when_the_disk_budget_is_spent(server_factory):
    server = server_factory(extra_args=("--disk-budget-mb", "1"))
    big = "print('x' * 700_000)"
    first = server.run(big, limits={"output_bytes": 1_000_000})["id"]
    second = server.run(big, limits={"output_bytes": 1_000_000})["id"]

    deadline = time.monotonic() + 15
    while server.get(f"/runs/{first}").status_code == 200:
        assert time.monotonic() < deadline, "the budget was never enforced"
        time.sleep(0.5)
    assert server.get(f"/runs/{second}").status_code == 200


def test_cancelling_a_queued_run_never_starts_it(server_factory):
    server = server_factory(max_running=1, max_queued=4)
    blocker = server.submit(slow("blocker", seconds=5))["id"]
    queued = server.submit("print('never')")["id"]

    response = server.delete(f"/runs/{queued}")

    assert response.status_code == 200, describe(response)
    assert response.json()["status"] == "cancelled"
    assert server.delete(f"/runs/{queued}").json()["status"] == "cancelled"
    final = server.wait_until_final(queued)
    assert final["status"] == "cancelled" and final["stdout"] == "" and final["exit_code"] is None
    server.delete(f"/runs/{blocker}")
    assert server.wait_until_final(blocker, timeout_s=15)["status"] == "cancelled"


def test_a_server_on_the_same_store_keeps_every_finished_run(server_factory, restart):
    server = server_factory()
    run_id = server.run("print('kept')")["id"]

    restarted = restart(server, signal="SIGTERM")

    assert restarted.get_run(run_id)["stdout"] == "kept\n"
    assert requests.codes.ok == restarted.get(f"/runs/{run_id}/stdout").status_code
