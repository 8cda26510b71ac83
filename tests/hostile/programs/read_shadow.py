# Attack: read the host's password hashes and private keys.
# Expected: nothing read (EACCES, or ENOENT where the sandbox hides the file); `succeeded`.
import errno
import json


def attempt(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({path: attempt(path) for path in (
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/ssh/ssh_host_ed25519_key",
    "/root/.ssh/id_ed25519",
    "/root/.bash_history",
)}), flush=True)
