# Attack: call the pyrunner server itself on 127.0.0.1 (argv[1] is its port), e.g. to
# submit more runs or read other runs' results.
# Expected: refused (no network at all); `succeeded` with the refusals reported.
import errno
import json
import socket
import sys

port = int(sys.argv[1])


def attempt(family, address):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(address)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "ipv4_loopback": attempt(socket.AF_INET, ("127.0.0.1", port)),
    "ipv6_loopback": attempt(socket.AF_INET6, ("::1", port)),
}), flush=True)
