# Attack: read or steer other processes: ptrace (PTRACE_TRACEME, attach to its own child,
# to PID 1), process_vm_readv/writev on its own child.
# Expected: every one refused (EPERM); `succeeded`.
import ctypes
import errno
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def syscall(number, *args):
    """Makes the raw x86_64 system call: "allowed", or the name of the errno it failed with."""
    args = [ctypes.c_long(arg) if isinstance(arg, int) else arg for arg in args]
    if libc.syscall(ctypes.c_long(number), *args) == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "allowed"


PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE = 0, 16, 0x4206
child = os.fork()
if child == 0:
    import time
    time.sleep(30)
    os._exit(0)
buffer = ctypes.create_string_buffer(16)
iovec = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 16)
report = {
    "traceme": syscall(101, PTRACE_TRACEME, 0, 0, 0),
    "attach_child": syscall(101, PTRACE_ATTACH, child, 0, 0),
    "seize_child": syscall(101, PTRACE_SEIZE, child, 0, 0),
    "attach_pid1": syscall(101, PTRACE_ATTACH, 1, 0, 0),
    "process_vm_readv": syscall(310, child, iovec, 1, iovec, 1, 0),
    "process_vm_writev": syscall(311, child, iovec, 1, iovec, 1, 0),
}
os.kill(child, 9)
os.waitpid(child, 0)
print(json.dumps(report), flush=True)
