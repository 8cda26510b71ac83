# Attack: reach the internet over TCP (IPv4 and IPv6, by address: no DNS needed).
# Expected: every attempt is refused (the run has no network; AF_INET/AF_INET6 sockets are
# not even allowed); `succeeded` with the refusals reported.
import errno
import json
import socket


def attempt(family, address):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(address)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "tcp_1.1.1.1:443": attempt(socket.AF_INET, ("1.1.1.1", 443)),
    "tcp_8.8.8.8:53": attempt(socket.AF_INET, ("8.8.8.8", 53)),
    "tcp_[2606:4700:4700::1111]:443": attempt(socket.AF_INET6, ("2606:4700:4700::1111", 443)),
}), flush=True)
