"""Overload: a burst of 1000 submissions from 50 clients against a small queue
(scripts/load-test). Every request is answered, the excess with 429 and Retry-After, every
accepted run ends, /healthz keeps answering and the server survives."""

import json
import os
import subprocess
import sys
from pathlib import Path

from api_client import describe

LOAD_TEST = Path(__file__).resolve().parents[2] / "scripts" / "load-test"
# The burst itself takes seconds; the accepted runs then drain two at a time.
LOAD_TEST_TIMEOUT_S = 110
# A timing in a pass/fail test is the exception here: this bound is the requirement itself,
# and a 2-core host meets it with room to spare.
HEALTHZ_MAX_MS = 100


def ns_pid(status_path):
    """The innermost PID namespace's number for the process whose status file this is."""
    with open(status_path) as status:
        for line in status:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return None


def host_pid(machine, unit):
    """The unit's main process as this host numbers it.

    The machine (systemd-nspawn) has a PID namespace of its own, so the MainPID systemd reports
    inside is not the process of that number here; it is the one in the machine's namespace
    whose innermost PID matches.
    """
    inside = int(machine.run("systemctl", "show", "-P", "MainPID", unit).stdout)
    assert inside > 0, f"{unit} has no main process"
    if machine.target == "host":
        return inside
    namespace = os.readlink(f"/proc/{machine.target}/ns/pid")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns" / "pid") == namespace and ns_pid(entry / "status") == inside:
                return int(entry.name)
        except OSError:
            continue  # it exited while we looked
    raise AssertionError(f"no process of this host is PID {inside} in the machine")


def test_burst_of_1000_requests_from_50_clients(server_factory, machine, capsys):
    # Two at a time and 32 waiting, against 50 clients: most submissions must be refused.
    server = server_factory(max_running=2, max_queued=32)
    pid = host_pid(machine, server.unit)

    # The admin token through the environment, as a user would, and out of the command line.
    finished = subprocess.run(
        [sys.executable, str(LOAD_TEST), "--url", server.base_url, "--requests", "1000",
         "--clients", "50", "--pid", str(pid), "--timeout", "60"],
        capture_output=True, text=True, timeout=LOAD_TEST_TIMEOUT_S,
        env={**os.environ, "PYRUNNER_TOKEN": server.token},
    )

    output = finished.stdout + finished.stderr
    with capsys.disabled():
        print(f"\nscripts/load-test against {server.unit}:\n{finished.stdout}", end="")
    lines = finished.stdout.strip().splitlines()
    assert lines, output
    result = json.loads(lines[-1])
    assert result["transport_errors"] == 0, output
    assert set(result["codes"]) <= {"200", "202", "429"}, output
    assert result["retry_after_missing"] == 0, output
    assert result["codes"].get("429", 0) >= 1, output
    assert result["accepted"] >= 1, output
    assert result["final"] == {"succeeded": result["accepted"]}, output
    assert result["healthz_errors"] == 0 and result["healthz_samples"] > 0, output
    assert result["healthz_max_ms"] < HEALTHZ_MAX_MS, output
    assert result["rss_peak_mib"] is not None, output
    assert finished.returncode == 0, output

    health = server.get("/healthz")
    assert health.status_code == 200, describe(health)
    active = machine.run("systemctl", "is-active", server.unit, check=False)
    assert active.stdout.strip() == "active", machine.journal("-u", server.unit, "-n", "100")
