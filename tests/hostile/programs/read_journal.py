# Attack: read the system journal and the system logs (other runs' unit messages, the
# server's log, authentication records).
# Expected: nothing readable; `succeeded`.
import errno
import glob
import json


def attempt(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


paths = glob.glob("/var/log/journal/*/*") + glob.glob("/run/log/journal/*/*")
paths += glob.glob("/var/log/private/**", recursive=True)
for name in ("syslog", "messages", "auth.log", "daemon.log", "kern.log", "user.log"):
    paths += glob.glob(f"/var/log/{name}*")
print(json.dumps({path: attempt(path) for path in sorted(paths)}), flush=True)
