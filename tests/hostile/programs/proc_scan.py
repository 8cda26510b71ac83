# Attack: walk /proc for other processes (the server, systemd, other runs) and open the
# hidden ones by number: their environment, command line, memory, root directory.
# Expected: /proc lists only the run's own processes (itself and its parent, the unit's
# reaper), every other PID is invisible; `succeeded`.
import errno
import json
import os


def attempt(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


me, parent = os.getpid(), os.getppid()
listed = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
opened = [pid for pid in range(1, 1 << 16) if pid not in (me, parent) and os.path.exists(f"/proc/{pid}/status")]
print(json.dumps({
    "me": me,
    "parent": parent,
    "listed": listed,
    "opened": opened,
    "pid1_environ": attempt("/proc/1/environ"),
    "pid1_cmdline": attempt("/proc/1/cmdline"),
    "pid1_mem": attempt("/proc/1/mem"),
    "pid1_root": attempt("/proc/1/root/etc/shadow"),
}), flush=True)
