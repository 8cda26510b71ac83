# Attack: rename the host: sethostname, setdomainname.
# Expected: both refused (EPERM); `succeeded`.
import ctypes
import errno
import json

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def syscall(number, *args):
    """Makes the raw x86_64 system call: "allowed", or the name of the errno it failed with."""
    args = [ctypes.c_long(arg) if isinstance(arg, int) else arg for arg in args]
    if libc.syscall(ctypes.c_long(number), *args) == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "allowed"


print(json.dumps({
    "sethostname": syscall(170, ctypes.c_char_p(b"pwned"), 5),
    "setdomainname": syscall(171, ctypes.c_char_p(b"pwned"), 5),
}), flush=True)
