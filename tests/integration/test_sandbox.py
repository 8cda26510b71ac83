"""A few of the sandbox's walls, tried from inside a run (see the hostile-code notes)."""

import json
import os
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.vm

# Tries each action and reports "allowed" or the errno's name, so one run probes many walls.
PROBE = """
import errno, json, os, socket, sys

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))

def write(path):
    with open(path, "w") as f:
        f.write("x")

def connect(port):
    socket.create_connection(("127.0.0.1", port), timeout=2).close()

print(json.dumps({
    "uid": os.getuid(),
    "write_cwd": attempt(lambda: write("scratch.txt")),
    "write_tmp": attempt(lambda: write("/tmp/scratch.txt")),
    "write_etc": attempt(lambda: write("/etc/pyrunner-was-here")),
    "write_usr": attempt(lambda: write("/usr/pyrunner-was-here")),
    "list_root_home": attempt(lambda: os.listdir("/root")),
    "connect_server": attempt(lambda: connect(int(sys.argv[1]))),
}))
"""

FORK_BOMB = """
import os, time
forked = 0
refused = None
for _ in range(1000):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    except OSError as error:
        refused = error.errno
        break
print(forked, refused, flush=True)
os._exit(0)
"""


def test_run_is_unprivileged_and_confined_to_its_scratch(server):
    port = urlsplit(server.base_url).port
    run = server.run(PROBE, args=[str(port)])

    assert run["status"] == "succeeded", run
    seen = json.loads(run["stdout"])
    assert seen["uid"] != 0, seen
    assert seen["write_cwd"] == "allowed", seen
    assert seen["write_tmp"] == "allowed", seen
    assert seen["write_etc"] != "allowed", seen
    assert seen["write_usr"] != "allowed", seen
    assert seen["list_root_home"] != "allowed", seen
    assert seen["connect_server"] != "allowed", seen


# A host daemon whose socket lets every local user connect, as a database's or a container
# runtime's may: it says it is ready once it listens, and serves until stopped.
HOST_DAEMON = """
import os, socket, sys
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
listener.listen()
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
while True:
    listener.accept()[0].close()
"""

CONNECT = """
import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(sys.argv[1])
"""

# Connects to the daemon, and lists every socket it can find where hosts keep them.
REACH_HOST_SOCKETS = """
import errno, json, os, socket, stat, sys

def attempt(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))

seen = []
for top in ("/run", "/var"):
    for directory, _, names in os.walk(top):
        paths = (os.path.join(directory, name) for name in names)
        seen += [path for path in paths if stat.S_ISSOCK(os.lstat(path).st_mode)]
print(json.dumps({"daemon": attempt(sys.argv[1]), "sockets_seen": seen}))
"""


@pytest.mark.parametrize("directory", ["/run", "/var/lib"])
def test_no_socket_of_the_hosts_daemons_is_within_reach(server, machine, directory):
    path = f"{directory}/test-daemon-{os.getpid()}.sock"
    unit = f"test-daemon-{os.getpid()}"
    machine.run("systemd-run", "--quiet", f"--unit={unit}", "--collect",
                "--property=Type=notify", "/usr/bin/python3", "-c", HOST_DAEMON, path)
    try:
        # The daemon serves: a process outside the sandbox connects.
        machine.run("/usr/bin/python3", "-c", CONNECT, path)
        run = server.run(REACH_HOST_SOCKETS, args=[path])
    finally:
        machine.run("systemctl", "stop", unit, check=False)

    assert run["status"] == "succeeded", run
    seen = json.loads(run["stdout"])
    assert seen["daemon"] != "allowed", seen
    assert seen["sockets_seen"] == [], seen


def test_fork_bomb_stops_at_the_task_limit_and_leaves_nothing_behind(server, machine):
    run = server.run(FORK_BOMB, limits={"tasks": 16, "wall_time_s": 5})

    assert run["status"] == "succeeded", run
    forked, refused = run["stdout"].split()
    assert int(forked) < 16
    assert refused == "11", "fork should fail with EAGAIN at the task limit"
    # A final verdict means the run's processes have ended, the children that still slept with
    # them: the unit is gone or in its stop-post step, whose helper is all its cgroup may hold.
    state = machine.run("systemctl", "show", "--property=SubState", "--value", run["unit"]).stdout.strip()
    assert state in ("dead", "failed", "stop-post"), f"{run['unit']} is {state}"
    left = machine.run(
        "sh", "-c",
        'cg=$(systemctl show --property=ControlGroup --value "$1"); [ -n "$cg" ] || exit 0; '
        'for root in /sys/fs/cgroup/unified /sys/fs/cgroup; do '
        '  [ -r "$root$cg/cgroup.procs" ] && exec xargs -r -I{} cat /proc/{}/comm < "$root$cg/cgroup.procs"; '
        "done; true",
        "sh", run["unit"], check=False,
    ).stdout.split()
    # comm holds 15 characters of a stop-post helper's name; before its exec, while systemd sets
    # up its namespace, the helper is systemd's child, named after the tail of it.
    assert set(left) <= {"pyrunner-unit-s", "(it-stats)", "pyrunner-collec", "(ct-files)"}, left
