# Attack: raw IP, packet and netlink sockets (ping sweeps, sniffing, reconfiguring the
# network stack).
# Expected: every socket is refused; `succeeded` with the refusals reported.
import errno
import json
import socket


def attempt(family, kind, protocol=0):
    try:
        socket.socket(family, kind, protocol).close()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "raw_icmp": attempt(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    "ping_dgram": attempt(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
    "raw_ipv6": attempt(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
    "packet": attempt(socket.AF_PACKET, socket.SOCK_RAW),
    "netlink_route": attempt(socket.AF_NETLINK, socket.SOCK_RAW, 0),
    "netlink_audit": attempt(socket.AF_NETLINK, socket.SOCK_RAW, 9),
    "vsock": attempt(40, socket.SOCK_STREAM),
    "bluetooth": attempt(31, socket.SOCK_RAW),
}), flush=True)
