# Attack: change the system clock (breaks TLS, logs, timers of the whole host):
# clock_settime, settimeofday, adjtimex, clock_adjtime.
# Expected: every one refused (EPERM); `succeeded`.
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


ADJ_OFFSET = 0x0001
timespec = (ctypes.c_long * 2)(0, 0)
timex = (ctypes.c_long * 32)(ADJ_OFFSET, 1000)
print(json.dumps({
    "clock_settime": syscall(227, 0, timespec),
    "settimeofday": syscall(164, timespec, 0),
    "adjtimex": syscall(159, timex),
    "clock_adjtime": syscall(305, 0, timex),
}), flush=True)
