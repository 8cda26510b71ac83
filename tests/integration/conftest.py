"""Black-box fixtures: one test host for the session, pyrunnerd servers on it.

The host is PYRUNNER_TEST_TARGET's (deployment.py, docs/testing.md):
- nspawn: a throwaway systemd machine (scripts/lib/machine.sh) that shares this machine's
  network namespace, so a server listening on 127.0.0.1:PORT inside is driven over HTTP from
  here; pyrunner runs from the build tree. Where PID 1 is systemd the script reports "host"
  and the servers run under the host's systemd instead.
- vm: a Debian VM with systemd as PID 1 on cgroup v2 (scripts/lib/vm.sh), booted from an
  image with the checkout's .deb installed; commands reach it over ssh, and each server's
  port is forwarded from this machine's loopback. Only the tests marked `vm` run there.

Logs land in build/integration-logs/ (build/integration-logs-vm/ for the VM): the host
script's messages, at the end the host's whole journal (every server's and every run's log),
and for the VM its console, how its image was made and, for each failed test, the journal as
it was then (vm-journal/).
"""

import glob
import os
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

# pytest puts this directory on sys.path (its default "prepend" import mode; no __init__.py).
from api_client import Client
from deployment import BROKER_UNIT, FRONT_USER, ON_VM, STATE_DIR
from tokens import create_token

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", REPO / "build")).resolve()
MACHINE_SH = REPO / "scripts" / "lib" / "machine.sh"
VM_SH = REPO / "scripts" / "lib" / "vm.sh"
# The image and the debootstrap root it comes from, kept between sessions.
VM_DIR = Path(os.environ.get("PYRUNNER_VM_DIR", REPO / "build-vm")).resolve()
# Apart for each host, since CI runs both.
LOGS = BUILD / ("integration-logs-vm" if ON_VM else "integration-logs")
SERVER_START_TIMEOUT_S = 30
BROKER_START_TIMEOUT_S = 120
# Booting under emulation, plus making the image when the .deb changed.
VM_READY_TIMEOUT_S = 900
# Set in every test server's environment; no run may see it.
SERVER_SECRET = ("PYRUNNER_SECRET", "server-only-value")


class Machine:
    """Runs commands inside the nspawn machine (its systemd, bus and journal)."""

    # The address a server listens on to be reached from here.
    listen_host = "127.0.0.1"

    def __init__(self, target):
        self.target = target

    def run(self, *cmd, timeout_s=60, check=True):
        return subprocess.run(
            ["bash", str(MACHINE_SH), "exec", self.target, *cmd],
            capture_output=True, text=True, timeout=timeout_s, check=check,
        )

    def journal(self, *args):
        return self.run("journalctl", "--no-pager", "-o", "short-precise", *args, check=False).stdout

    def forward(self, port):
        """The machine shares this one's network: its ports need no forwarding."""


class VmMachine(Machine):
    """Runs commands inside the VM, as root over ssh (one connection for all of them)."""

    # Its own network: qemu forwards this machine's loopback ports to the guest's address.
    listen_host = "0.0.0.0"

    def __init__(self, run_dir):
        super().__init__("vm")
        self.run_dir = Path(run_dir)
        self.forwarded = set()

    def run(self, *cmd, timeout_s=60, check=True):
        # ssh hands the remote shell one string.
        return subprocess.run(
            ["ssh", "-F", str(self.run_dir / "ssh_config"), "vm", shlex.join(cmd)],
            capture_output=True, text=True, timeout=timeout_s, check=check,
        )

    def forward(self, port):
        """Forwards 127.0.0.1:PORT here to the same port in the VM, through qemu's monitor
        (once: a restarted server takes its port again)."""
        if port in self.forwarded:
            return
        with socket.socket(socket.AF_UNIX) as monitor:
            monitor.settimeout(30)
            monitor.connect(str(self.run_dir / "monitor"))
            read_until_prompt(monitor)
            monitor.sendall(f"hostfwd_add net0 tcp:127.0.0.1:{port}-:{port}\n".encode())
            # The monitor echoes the command; anything else it says is an error.
            answer = read_until_prompt(monitor).replace("\r", "").splitlines()
        said = [line for line in answer if line.strip() and "hostfwd_add" not in line and line != "(qemu) "]
        assert not said, f"qemu could not forward port {port}: {said}"
        self.forwarded.add(port)


def read_until_prompt(monitor):
    text = b""
    while not text.endswith(b"(qemu) "):
        chunk = monitor.recv(4096)
        assert chunk, f"qemu's monitor closed: {text!r}"
        text += chunk
    return text.decode(errors="replace")


def hold(command, log_name, ready_timeout_s):
    """Starts a script that boots a host and holds it while our end of its stdin is open (so
    the host goes when the session ends, when this process dies, and on Ctrl-C); returns
    the script and the words of its "ready" line."""
    with open(LOGS / log_name, "w") as log:
        holder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    # The scripts bound the boot themselves and print nothing if it fails.
    words = holder.stdout.readline().split()
    if words[:1] != ["ready"]:
        holder.stdin.close()
        holder.wait(timeout=ready_timeout_s)
        pytest.fail(f"the test host did not boot:\n{(LOGS / log_name).read_text()}", pytrace=False)
    return holder, words[1:]


def checkout_deb():
    """The .deb built from this checkout (packaging/build), which the VM runs."""
    found = sorted(glob.glob(str(REPO / "build-packages" / "pyrunner_*.deb")), key=os.path.getmtime)
    if not found:
        pytest.fail("no build-packages/pyrunner_*.deb: run packaging/build first (scripts/test does)",
                    pytrace=False)
    return found[-1]


def boot_vm():
    with open(LOGS / "vm-image.log", "w") as log:
        made = subprocess.run(["bash", str(VM_SH), "image", checkout_deb(), str(VM_DIR)],
                              stdout=log, stderr=subprocess.STDOUT, timeout=VM_READY_TIMEOUT_S, check=False)
    if made.returncode != 0:
        pytest.fail(f"the VM's image was not made:\n{(LOGS / 'vm-image.log').read_text()}", pytrace=False)
    holder, words = hold(["bash", str(VM_SH), "hold", str(VM_DIR), str(LOGS)], "vm.log", VM_READY_TIMEOUT_S)
    return holder, VmMachine(words[0])


def boot_nspawn():
    binds = sorted({str(REPO), str(BUILD)})
    holder, words = hold(["bash", str(MACHINE_SH), "hold", *binds], "machine.log", 120)
    return holder, Machine(words[0])


@pytest.fixture(scope="session")
def machine():
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    holder, booted = boot_vm() if ON_VM else boot_nspawn()
    try:
        start_broker(booted)
        booted.pyrunnerd = pyrunnerd_path(booted)
        # Every test server requires tokens, as the package's does; the tests talk to them as
        # an admin unless a test makes tenants of its own.
        booted.admin_token = create_token(booted, "tests", "--admin")
        yield booted
        (LOGS / "journal.log").write_text(booted.journal())
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item):
    """On the VM, a failed test's evidence is its journal: copied out before the VM goes."""
    report = (yield).get_result()
    booted = item.funcargs.get("machine") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(booted, VmMachine):
        saved = LOGS / "vm-journal" / f"{item.name.replace('/', '_')}-{report.when}.log"
        saved.parent.mkdir(exist_ok=True)
        saved.write_text(booted.journal("-n", "5000"))
        report.sections.append(("vm journal", f"the VM's journal at this failure: {saved}"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server(Client):
    def __init__(self, base_url, unit, state_dir, token):
        super().__init__(base_url, token)
        self.unit = unit
        self.state_dir = state_dir
        self.secret = SERVER_SECRET


def start_broker(machine):
    """The privileged half, one per machine: every test server is a front of it."""
    if isinstance(machine, VmMachine):
        # The package's own service; its layer probe is slow on an emulated CPU.
        started = machine.run("systemctl", "start", BROKER_UNIT, timeout_s=BROKER_START_TIMEOUT_S, check=False)
    else:
        for binary in ("pyrunnerd", "pyrunner-broker", "pyrunner-unit-stats"):
            if not (BUILD / binary).is_file():
                pytest.fail(f"{BUILD / binary} is missing: build first (scripts/test does)", pytrace=False)
        started = machine.run("bash", str(REPO / "scripts" / "lib" / "start-broker.sh"), str(BUILD),
                              timeout_s=BROKER_START_TIMEOUT_S, check=False)
    if started.returncode != 0:
        pytest.fail(f"the broker did not start ({started.stderr.strip()}); its log:\n"
                    + machine.journal("-u", BROKER_UNIT, "-n", "100"), pytrace=False)


def pyrunnerd_path(machine):
    """The build tree's in the nspawn machine; the package's on the VM."""
    return "/usr/sbin/pyrunnerd" if isinstance(machine, VmMachine) else str(BUILD / "pyrunnerd")


def start_server(machine, max_running=4, max_queued=16, extra_args=(), port=None, properties=()):
    """A pyrunnerd of its own: its own port and its own run store, so that it can be killed
    and started again over the same store (restart_server). properties: more unit settings
    ("WatchdogSec=3")."""
    port = port or free_port()
    server = Server(f"http://127.0.0.1:{port}", f"pyrunnerd-{port}", STATE_DIR, machine.admin_token)
    server.options = {"max_running": max_running, "max_queued": max_queued,
                      "extra_args": tuple(extra_args), "port": port, "properties": tuple(properties)}
    # Type=notify: systemd-run returns once pyrunnerd says READY=1, i.e. it is serving,
    # and fails if the server dies first.
    started = machine.run(
        "systemd-run", "--quiet", f"--unit={server.unit}", "--collect",
        "--property=Type=notify", f"--property=User={FRONT_USER}",
        f"--property=Environment={server.secret[0]}={server.secret[1]}",
        *(f"--property={setting}" for setting in properties),
        pyrunnerd_path(machine),
        "--listen", f"{machine.listen_host}:{port}",
        "--state-dir", server.state_dir,
        "--store", f"{server.state_dir}/front/{server.unit}.sqlite3",
        "--max-running", str(max_running),
        "--max-queued", str(max_queued),
        *extra_args,
        timeout_s=SERVER_START_TIMEOUT_S, check=False,
    )
    machine.forward(port)
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


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: runs on the VM test host too (docs/testing.md says which and why)")


def pytest_collection_modifyitems(config, items):
    """On the VM only the tests marked `vm` run: the whole suites do not fit CI's time on an
    emulated CPU."""
    if not ON_VM:
        return
    kept = [item for item in items if item.get_closest_marker("vm")]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
