"""Privilege separation: the HTTP front holds no right to manage units, and the broker it
talks to starts nothing but a sandboxed run of Python, whatever the front asks."""

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deployment import FRONT_USER, STATE_DIR

BROKER = ("org.pyrunner.Broker1", "/org/pyrunner/Broker1", "org.pyrunner.Broker1")
INTERFACE_XML = Path(__file__).resolve().parents[2] / "src" / "protocol" / "org.pyrunner.Broker1.xml"


def input_signature(method):
    """The D-Bus signature of a broker method's arguments, as the interface defines them."""
    node = ET.parse(INTERFACE_XML).getroot()
    (element,) = [m for m in node.iter("method") if m.get("name") == method]
    return "".join(arg.get("type") for arg in element.iter("arg") if arg.get("direction") == "in")


START_RUN_SIGNATURE = input_signature("StartRun")
# wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks, output_bytes, disk_mb, files_count,
# files_bytes
DEFAULT_LIMITS = ["10", "10", "256", "100", "64", "1048576", "512", "100", "16777216"]
# The overflow uid: some user that is neither root nor the front.
NOBODY = "65534"


def as_user(machine, user, *command):
    # setpriv, not runuser: the machine has no PAM configuration.
    return machine.run("setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--",
                       *command, check=False)


def bytes_arg(text):
    data = text.encode()
    return [str(len(data)), *map(str, data)]


# tenant, cpu_percent, memory_mb: no tenant, in pyrunner.slice.
NO_TENANT = ("", "0", "0")


def start_run(machine, user, run_id, code, limits=DEFAULT_LIMITS, args=(), tenant=NO_TENANT):
    return as_user(
        machine, user, "busctl", "call", *BROKER, "StartRun", START_RUN_SIGNATURE,
        run_id, *bytes_arg(code), "0", str(len(args)), *args, *limits, "default", "0", *tenant,
    )


def unit_property(machine, unit, name):
    return machine.run("systemctl", "show", "--value", "-p", name, unit, check=False).stdout.strip()


def test_the_front_runs_as_its_own_unprivileged_user(machine, server):
    pid = unit_property(machine, server.unit, "MainPID")
    status = machine.run("cat", f"/proc/{pid}/status").stdout
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    expected = machine.run("id", "-u", FRONT_USER).stdout.strip()
    assert uids == [expected] * 4


def test_the_fronts_user_cannot_start_a_unit_itself(machine):
    result = as_user(
        machine, FRONT_USER, "busctl", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))",
        "pyrunner-evil.service", "fail", "1", "ExecStart", "a(sasb)", "1", "/bin/touch", "2",
        "/bin/touch", "/etc/pwned", "false", "0",
    )
    assert result.returncode != 0
    # polkit's answer for a caller that is not root (and has no agent to ask anyone).
    assert "interactive authentication required" in result.stderr.lower(), result.stderr
    assert machine.run("test", "-e", "/etc/pwned", check=False).returncode != 0


def test_the_broker_refuses_a_limit_above_the_maximum(machine):
    limits = ["10", "10", "4096", "100", "64", "1048576", "512", "100", "16777216"]
    result = start_run(machine, FRONT_USER, secrets.token_hex(16), "print(1)", limits)
    assert result.returncode != 0
    assert "memory_mb must be between 1 and 2048" in result.stderr


def test_the_broker_refuses_more_disk_space_than_the_maximum(machine):
    limits = ["10", "10", "256", "100", "64", "1048576", "4097", "100", "16777216"]
    result = start_run(machine, FRONT_USER, secrets.token_hex(16), "print(1)", limits)
    assert result.returncode != 0
    assert "disk_mb must be between 1 and 4096" in result.stderr


def test_the_broker_refuses_an_id_that_could_name_a_path(machine):
    for run_id in ("../../etc/cron.d", "x", secrets.token_hex(16).upper()):
        result = start_run(machine, FRONT_USER, run_id, "print(1)")
        assert result.returncode != 0, run_id
        assert "32 lowercase hex digits" in result.stderr
    assert machine.run("test", "-e", "/etc/cron.d/stdout", check=False).returncode != 0


def test_the_broker_refuses_a_tenant_that_could_name_another_slice(machine):
    for tenant in (("a-b", "0", "0"), ("../x", "0", "0"), ("Alice", "0", "0")):
        result = start_run(machine, FRONT_USER, secrets.token_hex(16), "print(1)", tenant=tenant)
        assert result.returncode != 0, tenant
        assert "tenant's name must be" in result.stderr, result.stderr


def test_the_broker_refuses_caps_out_of_bounds_and_caps_for_no_tenant(machine):
    for tenant, sentence in ((("alice", "0", "1"), "its memory_mb 0 or between 16"),
                             (("", "50", "0"), "Runs of no tenant take no caps")):
        result = start_run(machine, FRONT_USER, secrets.token_hex(16), "print(1)", tenant=tenant)
        assert result.returncode != 0, tenant
        assert sentence in result.stderr, result.stderr


def test_a_tenants_run_runs_in_its_slice_under_its_caps(machine):
    run_id = secrets.token_hex(16)
    unit = f"pyrunner-{run_id}.service"
    result = start_run(machine, FRONT_USER, run_id, "import time; time.sleep(3)",
                       tenant=("alice", "50", "256"))
    assert result.returncode == 0, result.stderr
    try:
        assert unit_property(machine, unit, "Slice") == "pyrunner-alice.slice"
        assert unit_property(machine, unit, "LogExtraFields") == "TENANT=alice"
        # Beneath the runs' own slice, so its caps bound every tenant together.
        assert unit_property(machine, "pyrunner-alice.slice", "Slice") == "pyrunner.slice"
        assert unit_property(machine, "pyrunner-alice.slice", "CPUQuotaPerSecUSec") == "500ms"
        assert unit_property(machine, "pyrunner-alice.slice", "MemoryMax") == str(256 << 20)
    finally:
        as_user(machine, FRONT_USER, "busctl", "call", *BROKER, "KillRun", "s", run_id)
    # New caps are set before the tenant's next unit starts; uncapped is uncapped.
    run_id = secrets.token_hex(16)
    result = start_run(machine, FRONT_USER, run_id, "print(1)", tenant=("alice", "0", "0"))
    assert result.returncode == 0, result.stderr
    assert unit_property(machine, "pyrunner-alice.slice", "CPUQuotaPerSecUSec") == "infinity"
    assert unit_property(machine, "pyrunner-alice.slice", "MemoryMax") == "infinity"


def test_a_tenants_warm_unit_is_prepared_under_its_caps(machine):
    run_id = secrets.token_hex(16)
    result = as_user(machine, FRONT_USER, "busctl", "call", *BROKER, "PrepareRun",
                     input_signature("PrepareRun"), run_id, "default", "bob", "0", "64")
    # busctl's connection, which prepared it, leaves at once: the broker stops the unit.
    assert result.returncode == 0, result.stderr
    assert unit_property(machine, "pyrunner-bob.slice", "MemoryMax") == str(64 << 20)
    assert unit_property(machine, "pyrunner-bob.slice", "CPUQuotaPerSecUSec") == "infinity"


# Lists and reads the server's configuration and state, where runs could find them.
READ_SERVER_FILES = """
import errno, json, os, sys

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))

seen = {path: attempt(lambda: os.listdir(path)) for path in sys.argv[1:]}
seen["read_config"] = attempt(lambda: open("/etc/pyrunner/test-secret").read())
print(json.dumps(seen))
"""


@pytest.mark.vm
def test_a_run_cannot_list_or_read_the_servers_configuration_or_state(machine, server_factory):
    # World-readable, as a careless operator might leave it. Made before the run's unit starts,
    # as a host's is: a unit hides what is there when systemd sets it up (a warm unit started
    # earlier would not hide it).
    machine.run("sh", "-c", "mkdir -p /etc/pyrunner && echo secret > /etc/pyrunner/test-secret"
                " && chmod 0644 /etc/pyrunner/test-secret")
    try:
        server = server_factory(extra_args=("--warm-pool", "0"))
        run = server.run(READ_SERVER_FILES,
                         args=["/etc/pyrunner", STATE_DIR, "/var/lib/pyrunner-environments"])
    finally:
        machine.run("sh", "-c", "rm /etc/pyrunner/test-secret; rmdir --ignore-fail-on-non-empty"
                    " /etc/pyrunner")
    assert run["status"] == "succeeded", run
    seen = json.loads(run["stdout"])
    assert "allowed" not in seen.values(), seen


def test_the_broker_refuses_calls_of_the_wrong_shape(machine):
    result = as_user(machine, FRONT_USER, "busctl", "call", *BROKER, "StartRun", "s",
                     secrets.token_hex(16))
    assert result.returncode != 0


def test_other_users_cannot_call_the_broker(machine):
    result = start_run(machine, NOBODY, secrets.token_hex(16), "print(1)")
    assert result.returncode != 0
    assert "denied" in result.stderr.lower(), result.stderr


def test_a_compromised_front_still_only_gets_a_sandboxed_python_run(machine):
    run_id = secrets.token_hex(16)
    unit = f"pyrunner-{run_id}.service"
    # Whatever code the front sends, the unit is the broker's: long enough to inspect it.
    result = start_run(machine, FRONT_USER, run_id, "import time; time.sleep(3)")
    assert result.returncode == 0, result.stderr
    try:
        assert unit_property(machine, unit, "LoadState") == "loaded"
        assert unit_property(machine, unit, "DynamicUser") == "yes"
        assert unit_property(machine, unit, "PrivateNetwork") == "yes"
        assert unit_property(machine, unit, "ProtectSystem") == "strict"
        assert unit_property(machine, unit, "NoNewPrivileges") == "yes"
        # A fresh dynamic user, never root or a user the front could pick.
        assert unit_property(machine, unit, "User").startswith("_du")
        exec_start = unit_property(machine, unit, "ExecStart")
        # The broker's reaper, running the environment's interpreter.
        assert "path=/run/pyrunner-reaper ; argv[]=/run/pyrunner-reaper /usr/bin/python3 " in exec_start, exec_start
    finally:
        as_user(machine, FRONT_USER, "busctl", "call", *BROKER, "KillRun", "s", run_id)


def test_run_files_are_root_owned_and_readable_by_the_front_only(machine, server):
    run = server.run("print('secret output')")
    listing = machine.run("stat", "-c", "%U:%G %a %n", f"{STATE_DIR}/runs/{run['id']}",
                          f"{STATE_DIR}/runs/{run['id']}/stdout").stdout.split("\n")
    assert listing[0].startswith(f"root:{FRONT_USER} 2750 ")
    assert listing[1].startswith(f"root:{FRONT_USER} 640 ")
    assert as_user(machine, NOBODY, "cat", f"{STATE_DIR}/runs/{run['id']}/stdout").returncode != 0
