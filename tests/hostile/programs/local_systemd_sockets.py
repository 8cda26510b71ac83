# Attack: reach systemd directly: its private manager socket, the journal's sockets (to
# forge or flood log entries), the notify socket.
# Expected: every one refused; `succeeded` with the refusals reported.
import errno
import json
import socket


def attempt(path, kind):
    try:
        with socket.socket(socket.AF_UNIX, kind) as s:
            s.connect(path)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "systemd_private": attempt("/run/systemd/private", socket.SOCK_STREAM),
    "journal_socket": attempt("/run/systemd/journal/socket", socket.SOCK_DGRAM),
    "journal_stdout": attempt("/run/systemd/journal/stdout", socket.SOCK_STREAM),
    "journal_dev_log": attempt("/dev/log", socket.SOCK_DGRAM),
    "notify": attempt("/run/systemd/notify", socket.SOCK_DGRAM),
}), flush=True)
