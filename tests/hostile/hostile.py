"""Helpers of the hostile suite: the programs, what a run leaves in the machine, the server's memory.

The machine is inspected from outside the runs (through the harness' Machine), so nothing a
hostile program prints can vouch for its own containment.
"""

import json
import time
from pathlib import Path

from deployment import SLOWDOWN

PROGRAMS = Path(__file__).parent / "programs"
# systemd's DynamicUser= range (61184-65519): every run's processes and files carry one.
DYNAMIC_UID_MIN, DYNAMIC_UID_MAX = 61184, 65519
CLEAN_TIMEOUT_S = 10 * SLOWDOWN
# The package's own services, which are no run's.
INSTALLED_UNITS = {"pyrunner.service", "pyrunner-broker.service"}
POLL_S = 0.2

# One round trip into the machine: run units, processes, files of dynamic users in the
# shared scratch places (PrivateTmp directories included).
_STATE_SCRIPT = f"""
systemctl list-units --all --plain --no-legend --no-pager 'pyrunner-*'
echo @@
ps -eo uid=,pid=,cgroup=
echo @@
find /tmp /var/tmp /dev/shm /dev/mqueue -mindepth 1 -maxdepth 1 \\
    \\( \\( -uid +{DYNAMIC_UID_MIN - 1} -uid -{DYNAMIC_UID_MAX + 1} \\) -o -name 'systemd-private-*-pyrunner-*' \\) \\
    2>/dev/null
find /dev -mindepth 1 -maxdepth 1 -name 'pyrunner-*' 2>/dev/null
true
"""


def program_bytes(name):
    return (PROGRAMS / f"{name}.py").read_bytes()


def program(name):
    return program_bytes(name).decode()


def report_of(run):
    """The JSON report a probing program prints as its last line."""
    lines = run["stdout"].strip().splitlines()
    assert lines, f"the program printed no report; stderr: {run['stderr'][-2000:]}"
    return json.loads(lines[-1])


def is_run_process(line, whole_machine):
    uid, _pid, cgroup = (line.split(maxsplit=2) + [""])[:3]
    # A throwaway machine has no dynamic user but the runs'; a real host may have others, so
    # there only those in pyrunner.slice count (no process can leave its cgroup).
    return DYNAMIC_UID_MIN <= int(uid) <= DYNAMIC_UID_MAX and (whole_machine or "pyrunner" in cgroup)


def idle_warm_units(units, server):
    """The warm units still waiting for a run: the server knows no run of their id. They are
    the pool, not anything a run left."""
    idle = set()
    for line in units.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[4:7] == ["pyrunner", "warm", "run"]:
            if server.get(f"/runs/{fields[7]}").status_code == 404:
                idle.add(fields[0])
    return idle


def leftovers(machine, server):
    """What runs left in the machine: run units, processes of dynamic users, their files, and
    mount points their units made in the host's /dev."""
    units, processes, files = machine.run("sh", "-c", _STATE_SCRIPT).stdout.split("@@\n")
    # The installed services (on the VM) share the runs' prefix and have private /tmp too.
    idle = idle_warm_units(units, server) | INSTALLED_UNITS
    whole_machine = machine.target != "host"

    def of_idle_unit(text):
        return any(unit in text for unit in idle)

    left = {
        # A tenant's slice is the server's, kept for the tenant's next run: not a leftover.
        "units": [line.split()[0] for line in units.splitlines()
                  if line.strip() and line.split()[0] not in idle and not line.split()[0].endswith(".slice")],
        "files": [line for line in files.splitlines() if not of_idle_unit(line)],
        "processes": [
            line.strip() for line in processes.splitlines()
            if line.split() and is_run_process(line, whole_machine) and not of_idle_unit(line)
        ],
    }
    return {kind: found for kind, found in left.items() if found}


def server_idle(server):
    response = server.get("/healthz")
    if response.status_code != 200:
        return f"/healthz answered {response.status_code}: {response.text[:200]}"
    health = response.json()
    if health["running"] or health["queued"]:
        return f"the server still has runs: {health}"
    return None


def wait_until_clean(machine, server, timeout_s=CLEAN_TIMEOUT_S):
    """Waits until no run has anything left and the server is healthy and idle; else fails.

    A final verdict means the unit has ended; systemd collects it (and removes its private
    directories) a moment later, hence the short wait.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        left = leftovers(machine, server)
        busy = server_idle(server)
        if not left and not busy:
            return
        assert time.monotonic() < deadline, f"after {timeout_s}s: left behind {left}; {busy or 'server idle'}"
        time.sleep(POLL_S)


def server_rss_kib(machine, server):
    """The server's resident memory (VmRSS of its unit's main process) in KiB."""
    status = machine.run(
        "sh", "-c", 'cat /proc/"$(systemctl show --property=MainPID --value "$1")"/status', "sh", server.unit
    ).stdout
    rss = [line for line in status.splitlines() if line.startswith("VmRSS:")]
    assert rss, f"no VmRSS for {server.unit}:\n{status}"
    return int(rss[0].split()[1])


def unit_journal(machine, unit):
    return machine.journal("-u", unit, "-o", "cat").splitlines()
