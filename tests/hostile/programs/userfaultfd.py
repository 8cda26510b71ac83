# Attack: userfaultfd, the classic way to stall the kernel mid-copy and win a race.
# Expected: refused (EPERM); `succeeded`.
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


O_CLOEXEC, O_NONBLOCK = 0o2000000, 0o4000
print(json.dumps({"userfaultfd": syscall(323, O_CLOEXEC | O_NONBLOCK)}), flush=True)
