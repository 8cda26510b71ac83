# Attack: plant symbolic links where a careless server might read or write: in the scratch
# directories, named after the capture files (stdout, stderr, cgroup-stats, main.py) and
# pointing at /etc/shadow, the server's state (argv[1]) and /proc/1/environ; then print a
# known line.
# Expected: `succeeded`, the server serves exactly that line (it never follows a link the
# run made), and the run's files in the server's state are regular files.
import json
import os
import sys

state = sys.argv[1]
targets = ["/etc/shadow", os.path.join(state, "runs"), "/proc/1/environ", "/run/dbus/system_bus_socket"]
planted = 0
for directory in ("/tmp", "/var/tmp", "/dev/shm"):
    for name, target in zip(("stdout", "stderr", "cgroup-stats", "main.py"), targets):
        try:
            os.symlink(target, os.path.join(directory, name))
            planted += 1
        except OSError:
            pass
print(json.dumps({"planted": planted}), flush=True)
