# Attack: talk to the system bus (to ask systemd for a root unit) through its socket.
# Expected: refused (the socket is hidden from the run); `succeeded` with the refusals.
import errno
import json
import socket


def attempt(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "system_bus": attempt("/run/dbus/system_bus_socket"),
    "system_bus_compat": attempt("/var/run/dbus/system_bus_socket"),
}), flush=True)
