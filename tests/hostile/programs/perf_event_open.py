# Attack: perf_event_open (kernel profiling, side channels, a frequent source of kernel
# bugs) on itself, on every CPU, and as a kernel tracepoint.
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


PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE = 0, 1
attr = (ctypes.c_uint32 * 32)(PERF_TYPE_SOFTWARE, 128)
hw_attr = (ctypes.c_uint32 * 32)(PERF_TYPE_HARDWARE, 128)
print(json.dumps({
    "software_self": syscall(298, attr, 0, -1, -1, 0),
    "hardware_all_cpus": syscall(298, hw_attr, -1, 0, -1, 0),
}), flush=True)
