"""The same Python program run bare and through pyrunner, for the yardsticks
(test_yardstick.py, test_analytics_scripts.py), which compare what it printed.

Bare is the program under /usr/bin/python3 -I in the test machine, so kernel, /usr and
Python are the ones the servers' runs get: as an ordinary user with a home, in a fresh
working directory of its own, with the variables a run gets (PATH, LANG, USER, LOGNAME)
and HOME, and the run unit's file descriptor limit (LimitNOFILE=1024).
Not `nobody`: its home is /nonexistent, where ordinary code expects a writable one.
"""

import os
import time
from pathlib import Path

import pytest

# As conftest.py finds it.
BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", Path(__file__).resolve().parents[2] / "build")).resolve()
LOGS = BUILD / "integration-logs"

BARE_USER = "yardstick"
# A run's variables (systemd's USER and LOGNAME, and LANG); PATH as systemd sets it.
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The program in a fresh directory of its own, as a run's code is (/run/pyrunner-main.py),
# not in its working directory. -I as the default environment's interpreter; -B and -u,
# which pyrunner adds, are left out: a difference they make is pyrunner's to explain.
BARE_SCRIPT = r"""
set -u
user=$1 home=$2 limit_s=$3 code=$4
shift 4
dir=$(mktemp -d /tmp/bare.XXXXXXXX)
mkdir "$dir/work"
printf '%s' "$code" >"$dir/main.py"
chmod 0755 "$dir"
chmod 0644 "$dir/main.py"
chown "$user:$user" "$dir/work"
cd "$dir/work"
timeout -k 5 "$limit_s" prlimit --nofile=1024:1024 \
    setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i PATH=""" + PATH + r""" LANG=C.UTF-8 USER="$user" LOGNAME="$user" HOME="$home" \
    /usr/bin/python3 -I "$dir/main.py" "$@"
status=$?
cd /
rm -rf "$dir"
exit "$status"
"""


def ensure_bare_user(machine):
    """The ordinary user bare programs run as, with a home of its own (the machine's /etc and
    /home are its own, and gone with it)."""
    if machine.run("id", BARE_USER, check=False).returncode != 0:
        machine.run("useradd", "--create-home", "--user-group", "--shell", "/bin/bash", BARE_USER)
    return machine.run("sh", "-c", f"getent passwd {BARE_USER} | cut -d: -f6").stdout.strip()


class Outcome:
    """How one program ended, bare or through pyrunner, in the same words."""

    def __init__(self, variant, exit_code, stdout, stderr, status=None, run=None):
        self.variant = variant
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        # pyrunner's verdict; bare: "succeeded", "failed" or "timed_out".
        self.status = status
        self.run = run

    def describe(self):
        tail = self.stderr[-1500:]
        return f"{self.variant}: {self.status} (exit {self.exit_code}); stderr ends:\n{tail}"


def run_bare(machine, home, code, args=(), limit_s=60):
    done = machine.run("bash", "-c", BARE_SCRIPT, "bare", BARE_USER, home, str(limit_s), code,
                       *args, timeout_s=limit_s + 60, check=False)
    # timeout(1): 124 when it stopped the program, 137 when it had to kill it.
    status = {0: "succeeded", 124: "timed_out", 137: "timed_out"}.get(done.returncode, "failed")
    return Outcome("bare", done.returncode, done.stdout, done.stderr, status)


def was_warm(machine, run):
    """Whether the run took a warm unit: the unit's description says so in the journal."""
    text = machine.journal("-u", run["unit"], "-o", "cat")
    return f"pyrunner warm run {run['id']}" in text


def run_pyrunner(server, machine, code, warm, attempts=3, **fields):
    """The program through `server`; warm=True: a run that took a warm unit (the pool is given a
    moment to refill when one went cold), warm=False: checked to have started cold."""
    variant = "warm" if warm else "cold"
    for _ in range(attempts if warm else 1):
        run = server.run(code, **fields)
        if was_warm(machine, run) == warm:
            return Outcome(variant, run["exit_code"], run["stdout"], run["stderr"], run["status"], run)
        time.sleep(1)
    pytest.fail(f"{attempts} runs in a row were not {variant}: {run['unit']}")
