"""A few of the sandbox's walls, tried from inside a run (see the hostile-code notes)."""

import json
from urllib.parse import urlsplit

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


def test_fork_bomb_stops_at_the_task_limit_and_leaves_nothing_behind(server, machine):
    run = server.run(FORK_BOMB, limits={"tasks": 16, "wall_time_s": 5})

    assert run["status"] == "succeeded", run
    forked, refused = run["stdout"].split()
    assert int(forked) < 16
    assert refused == "11", "fork should fail with EAGAIN at the task limit"
    # A final verdict means the unit has ended, and with it the children that still slept.
    state = machine.run("systemctl", "show", "--property=ActiveState", "--value", run["unit"]).stdout.strip()
    assert state in ("inactive", "failed"), f"{run['unit']} is {state}"
