# Attack: change the filesystem view: mount a tmpfs, unmount /tmp, bind over /etc, chroot,
# pivot_root, and the new mount API (fsopen, open_tree, move_mount).
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


def text(value):
    return ctypes.c_char_p(value)


MS_BIND = 0x1000
print(json.dumps({
    "mount_tmpfs": syscall(165, text(b"none"), text(b"/tmp"), text(b"tmpfs"), 0, 0),
    "mount_bind": syscall(165, text(b"/tmp"), text(b"/etc"), 0, MS_BIND, 0),
    "umount_tmp": syscall(166, text(b"/tmp"), 2),
    "chroot": syscall(161, text(b"/tmp")),
    "pivot_root": syscall(155, text(b"/tmp"), text(b"/tmp")),
    "fsopen": syscall(430, text(b"tmpfs"), 0),
    "open_tree": syscall(428, -100, text(b"/tmp"), 1),
    "move_mount": syscall(429, -100, text(b"/tmp"), -100, text(b"/etc"), 0),
}), flush=True)
