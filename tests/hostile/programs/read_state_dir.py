# Attack: read the server's state directory (argv[1]): every run's code, stdin, output.
# Expected: nothing: the directory is inaccessible to runs (EACCES), a glob finds nothing in
# it; `succeeded`.
import errno
import glob
import json
import os
import sys

state = sys.argv[1]


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


# Everything below the state directories (and any other pyrunner* one), not they themselves.
tops = set(glob.glob("/var/lib/pyrunner*/"))
print(json.dumps({
    "list_state": attempt(lambda: os.listdir(state)),
    "list_runs": attempt(lambda: os.listdir(os.path.join(state, "runs"))),
    "stat_runs": attempt(lambda: os.stat(os.path.join(state, "runs"))),
    "open_state": attempt(lambda: os.close(os.open(state, os.O_RDONLY | os.O_DIRECTORY))),
    "found": sorted(set(glob.glob("/var/lib/pyrunner*/**", recursive=True)) - tops)[:20],
}), flush=True)
