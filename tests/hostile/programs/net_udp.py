# Attack: send UDP datagrams out: a DNS query to a public resolver, and a broadcast.
# Expected: refused; `succeeded` with the refusals reported.
import errno
import json
import socket

QUERY = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")


def attempt(address, broadcast=False):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            if broadcast:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.sendto(QUERY, address)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "udp_8.8.8.8:53": attempt(("8.8.8.8", 53)),
    "udp_broadcast": attempt(("255.255.255.255", 67), broadcast=True),
}), flush=True)
