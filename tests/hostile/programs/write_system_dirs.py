# Attack: write outside the scratch space: plant files in /etc and /usr (a sitecustomize
# would poison every later Python), /var, /opt, the root directory.
# Expected: every write refused (EROFS: the system is read-only to the run); `succeeded`.
import errno
import json


def attempt(path):
    try:
        with open(path, "w") as f:
            f.write("pwned")
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({path: attempt(path) for path in (
    "/etc/pyrunner-was-here",
    "/etc/ld.so.preload",
    "/usr/pyrunner-was-here",
    "/usr/lib/python3/dist-packages/sitecustomize.py",
    "/usr/local/lib/pyrunner.pth",
    "/var/lib/pyrunner-was-here",
    "/var/log/pyrunner-was-here",
    "/var/cache/pyrunner-was-here",
    "/opt/pyrunner-was-here",
    "/srv/pyrunner-was-here",
    "/pyrunner-was-here",
)}), flush=True)
