# Attack: create namespaces, the door to most container escapes: unshare() of a user
# namespace (then map ourselves to root in it), of mount, network and PID namespaces, and
# clone() with CLONE_NEWUSER.
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


CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
SIGCHLD = 17


def clone_new_user():
    result = libc.syscall(ctypes.c_long(56), ctypes.c_long(CLONE_NEWUSER | SIGCHLD), ctypes.c_long(0),
                          ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    if result == 0:
        os._exit(0)
    if result == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    os.waitpid(result, 0)
    return "allowed"


print(json.dumps({
    "unshare_user": syscall(272, CLONE_NEWUSER),
    "unshare_mount": syscall(272, CLONE_NEWNS),
    "unshare_net": syscall(272, CLONE_NEWNET),
    "unshare_pid": syscall(272, CLONE_NEWPID),
    "unshare_uts_ipc": syscall(272, CLONE_NEWUTS | CLONE_NEWIPC),
    "clone_new_user": clone_new_user(),
    "setns": syscall(308, os.open("/proc/self/ns/net", os.O_RDONLY), 0),
}), flush=True)
