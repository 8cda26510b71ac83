# Attack: replace or stop the kernel: kexec_load, kexec_file_load, reboot, and load or
# remove kernel modules.
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


LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF = 0xfee1dead, 672274793, 0x4321FEDC
text = ctypes.c_char_p
print(json.dumps({
    "kexec_load": syscall(246, 0, 0, 0, 0),
    "kexec_file_load": syscall(320, 0, -1, 1, text(b""), 0),
    "reboot": syscall(169, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0),
    "init_module": syscall(175, text(b"\0" * 64), 64, text(b"")),
    "finit_module": syscall(313, os.open("/dev/null", os.O_RDONLY), text(b""), 0),
    "delete_module": syscall(176, text(b"ext4"), 0),
}), flush=True)
