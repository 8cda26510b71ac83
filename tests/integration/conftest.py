"""Black-box fixtures: one throwaway systemd machine for the session, pyrunnerd servers in it.

The machine (scripts/lib/machine.sh) shares the host's network namespace, so a server
listening on 127.0.0.1:PORT inside is driven over HTTP from here. Where PID 1 is systemd the
script reports "host" and the servers run under the host's systemd instead.

Logs land in build/integration-logs/: the machine script's messages, and at the end the
machine's whole journal (every server's and every run's log).
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

# pytest puts this directory on sys.path (its default "prepend" import mode; no __init__.py).
from api_client import Client
from deployment import BROKER_UNIT, FRONT_USER, STATE_DIR

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", REPO / "build")).resolve()
MACHINE_SH = REPO / "scripts" / "lib" / "machine.sh"
LOGS = BUILD / "integration-logs"
SERVER_START_TIMEOUT_S = 30
# Set in every test server's environment; no run may see it.
SERVER_SECRET = ("PYRUNNER_SECRET", "server-only-value")


class Machine:
    """Runs commands inside the machine (its systemd, bus and journal)."""

    def __init__(self, target):
        self.target = target

    def run(self, *cmd, timeout_s=60, check=True):
        return subprocess.run(
            ["bash", str(MACHINE_SH), "exec", self.target, *cmd],
            capture_output=True, text=True, timeout=timeout_s, check=check,
        )

    def journal(self, *args):
        return self.run("journalctl", "--no-pager", "-o", "short-precise", *args, check=False).stdout


@pytest.fixture(scope="session")
def machine():
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    binds = sorted({str(REPO), str(BUILD)})
    with open(LOGS / "machine.log", "w") as log:
        # The script stops the machine when our end of its stdin closes: on teardown, and also
        # if this process dies without one. It also stops on SIGINT, so Ctrl-C is covered.
        holder = subprocess.Popen(
            ["bash", str(MACHINE_SH), "hold", *binds],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    try:
        # The script bounds the boot itself and prints nothing if it fails.
        words = holder.stdout.readline().split()
        if words[:1] != ["ready"]:
            holder.wait(timeout=120)
            pytest.fail(f"the machine did not boot:\n{(LOGS / 'machine.log').read_text()}", pytrace=False)
        booted = Machine(words[1])
        start_broker(booted)
        yield booted
        (LOGS / "journal.log").write_text(booted.journal())
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server(Client):
    def __init__(self, base_url, unit, state_dir):
        super().__init__(base_url)
        self.unit = unit
        self.state_dir = state_dir
        self.secret = SERVER_SECRET


def start_broker(machine):
    """The privileged half, one per machine: every test server is a front of it."""
    for binary in ("pyrunnerd", "pyrunner-broker", "pyrunner-unit-stats"):
        if not (BUILD / binary).is_file():
            pytest.fail(f"{BUILD / binary} is missing: build first (scripts/test does)", pytrace=False)
    started = machine.run("bash", str(REPO / "scripts" / "lib" / "start-broker.sh"), str(BUILD),
                          timeout_s=SERVER_START_TIMEOUT_S, check=False)
    if started.returncode != 0:
        pytest.fail(f"the broker did not start ({started.stderr.strip()}); its log:\n"
                    + machine.journal("-u", BROKER_UNIT, "-n", "100"), pytrace=False)


def start_server(machine, max_running=4, max_queued=16, extra_args=(), port=None, properties=()):
    """A pyrunnerd of its own: its own port and its own run store, so that it can be killed
    and started again over the same store (restart_server). properties: more unit settings
    ("WatchdogSec=3")."""
    port = port or free_port()
    server = Server(f"http://127.0.0.1:{port}", f"pyrunnerd-{port}", STATE_DIR)
    server.options = {"max_running": max_running, "max_queued": max_queued,
                      "extra_args": tuple(extra_args), "port": port, "properties": tuple(properties)}
    # Type=notify: systemd-run returns once pyrunnerd says READY=1, i.e. it is serving,
    # and fails if the server dies first.
    started = machine.run(
        "systemd-run", "--quiet", f"--unit={server.unit}", "--collect",
        "--property=Type=notify", f"--property=User={FRONT_USER}",
        f"--property=Environment={server.secret[0]}={server.secret[1]}",
        *(f"--property={setting}" for setting in properties),
        str(BUILD / "pyrunnerd"),
        "--listen", f"127.0.0.1:{port}",
        "--state-dir", server.state_dir,
        "--store", f"{server.state_dir}/front/{server.unit}.sqlite3",
        "--max-running", str(max_running),
        "--max-queued", str(max_queued),
        *extra_args,
        timeout_s=SERVER_START_TIMEOUT_S, check=False,
    )
    if started.returncode != 0:
        pytest.fail(
            f"{server.unit} did not start ({started.stderr.strip()}); its log:\n"
            + machine.journal("-u", server.unit, "-n", "100"),
            pytrace=False,
        )
    assert server.get("/healthz").status_code == 200
    return server


def restart_server(machine, server, signal="SIGKILL"):
    """Ends the server with `signal` (SIGKILL: a crash; SIGTERM: a graceful stop) and starts
    it again on the same port and store."""
    machine.run("systemctl", "kill", f"--signal={signal}", server.unit, check=False)
    # Returns once the unit is gone (it is collected as soon as it is inactive).
    machine.run("systemctl", "stop", server.unit, check=False)
    return start_server(machine, **server.options)


def stop_server(machine, server):
    machine.run("systemctl", "stop", server.unit, check=False)


@pytest.fixture(scope="session")
def server(machine):
    """The shared server: up to 4 runs at once, 16 queued."""
    started = start_server(machine)
    yield started
    stop_server(machine, started)


@pytest.fixture
def server_factory(machine):
    """Starts servers of a test's own (e.g. with a tiny queue); each is stopped after the test."""
    started = []

    def start(**options):
        started.append(start_server(machine, **options))
        return started[-1]

    yield start
    for each in started:
        stop_server(machine, each)


@pytest.fixture
def restart(machine):
    """restart(server, signal="SIGKILL"): the server ended and started again on its store."""
    return lambda server, signal="SIGKILL": restart_server(machine, server, signal)


@pytest.fixture
def broker_starter(machine):
    """Starts the broker again after a test stopped it."""
    return lambda: start_broker(machine)


def warm_and_cold_servers(machine, warm_args):
    """A server started with `warm_args` and one without any warm pool, stopped after."""
    warm = start_server(machine, max_running=2, extra_args=warm_args)
    cold = start_server(machine, max_running=2, extra_args=("--warm-pool", "0"))
    yield warm, cold
    stop_server(machine, warm)
    stop_server(machine, cold)


@pytest.fixture(scope="module")
def warm_and_cold(machine):
    """Two servers for comparing the paths: one with a warm pool of 2, one with none."""
    yield from warm_and_cold_servers(machine, ("--warm-pool", "2"))


@pytest.fixture(scope="module")
def science_warm_and_cold(machine):
    """The same for the datascience environment: one datascience warm unit, and none."""
    yield from warm_and_cold_servers(machine, ("--warm-pool-for", "datascience=1"))
