"""Privilege separation: the HTTP front holds no right to manage units, and the broker it
talks to starts nothing but a sandboxed run of Python, whatever the front asks."""

import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

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


def start_run(machine, user, run_id, code, limits=DEFAULT_LIMITS, args=()):
    return as_user(
        machine, user, "busctl", "call", *BROKER, "StartRun", START_RUN_SIGNATURE,
        run_id, *bytes_arg(code), "0", str(len(args)), *args, *limits, "default", "0",
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
