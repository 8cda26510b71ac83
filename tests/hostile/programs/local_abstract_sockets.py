# Attack: abstract AF_UNIX sockets have no file to hide: look for well-known ones of the
# host (systemd, D-Bus, X11, containerd) and for a listener of another run.
# Expected: nothing answers (the run has a network namespace, and abstract sockets live in
# it); `succeeded` with every connection refused.
import errno
import json
import socket

NAMES = [
    "/org/freedesktop/systemd1/notify",
    "/run/systemd/private",
    "/tmp/dbus-system",
    "/tmp/.X11-unix/X0",
    "containerd-shim",
    "pyrunner-hostile-listener",
]


def attempt(name):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect("\0" + name)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


report = {name: attempt(name) for name in NAMES}
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind("\0pyrunner-hostile-listener")
listener.listen()
print(json.dumps(report), flush=True)
