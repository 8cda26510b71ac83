# Attack: the kernel keyring (shared by every process of a user, and a source of kernel
# bugs): add_key, request_key, keyctl.
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


KEY_SPEC_USER_KEYRING, KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING = -4, 0, 1
print(json.dumps({
    "add_key": syscall(248, ctypes.c_char_p(b"user"), ctypes.c_char_p(b"pyrunner"), ctypes.c_char_p(b"x"), 1,
                       KEY_SPEC_USER_KEYRING),
    "request_key": syscall(249, ctypes.c_char_p(b"user"), ctypes.c_char_p(b"pyrunner"), 0, 0),
    "keyctl_get_keyring": syscall(250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0),
    "keyctl_join_session": syscall(250, KEYCTL_JOIN_SESSION_KEYRING, 0),
}), flush=True)
