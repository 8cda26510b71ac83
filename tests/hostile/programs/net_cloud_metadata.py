# Attack: ask the cloud metadata service for credentials (169.254.169.254, and its IPv6 and
# ECS/Alibaba cousins).
# Expected: refused; `succeeded` with the refusals reported.
import errno
import json
import socket


def attempt(family, address):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(address)
            s.sendall(b"GET /latest/meta-data/iam/security-credentials/ HTTP/1.0\r\n\r\n")
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "169.254.169.254:80": attempt(socket.AF_INET, ("169.254.169.254", 80)),
    "169.254.170.2:80": attempt(socket.AF_INET, ("169.254.170.2", 80)),
    "100.100.100.200:80": attempt(socket.AF_INET, ("100.100.100.200", 80)),
    "[fd00:ec2::254]:80": attempt(socket.AF_INET6, ("fd00:ec2::254", 80)),
}), flush=True)
