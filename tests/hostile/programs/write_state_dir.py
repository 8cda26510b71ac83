# Attack: write into the server's state directory (argv[1]), and tamper with this run's own
# capture files: rename, unlink or replace them, or drop a forged cgroup-stats file.
# Expected: every attempt refused; `succeeded` with its report intact.
import errno
import json
import os
import sys

state = sys.argv[1]
own_dir = os.path.dirname(os.readlink("/proc/self/fd/1"))


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def write(path):
    with open(path, "w") as f:
        f.write("forged")


print(json.dumps({
    "state_file": attempt(lambda: write(os.path.join(state, "pyrunner-was-here"))),
    "runs_dir": attempt(lambda: os.mkdir(os.path.join(state, "runs", "f" * 32))),
    "forged_stats": attempt(lambda: write(os.path.join(own_dir, "cgroup-stats"))),
    "unlink_stdout": attempt(lambda: os.unlink(os.path.join(own_dir, "stdout"))),
    "rename_stderr": attempt(lambda: os.rename(os.path.join(own_dir, "stderr"), os.path.join(own_dir, "x"))),
}), flush=True)
