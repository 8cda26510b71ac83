# Attack: personality tricks: READ_IMPLIES_EXEC (every readable page executable),
# ADDR_NO_RANDOMIZE (no ASLR for what it execs next), a 32-bit personality.
# Expected: every change refused (EPERM: LockPersonality); `succeeded`.
import ctypes
import errno
import json

libc = ctypes.CDLL(None, use_errno=True)
libc.personality.argtypes = [ctypes.c_ulong]


def attempt(persona):
    if libc.personality(persona) == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "allowed"


print(json.dumps({
    "read_implies_exec": attempt(0x0400000),
    "addr_no_randomize": attempt(0x0040000),
    "linux32": attempt(0x0008),
    "mmap_page_zero": attempt(0x0100000),
}), flush=True)
