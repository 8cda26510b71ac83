# Attack: create System V shared memory, a message queue and a POSIX message queue meant to
# outlive the run (IPC objects are not files and are not cleaned up by default).
# Expected: creation is allowed inside the run's private IPC namespace; `succeeded`; the
# next run finds none of them (clean_slate.py).
import ctypes
import errno
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
KEY = 0x70797275  # the next run looks for this key


def made(result):
    return "allowed" if result >= 0 else errno.errorcode.get(ctypes.get_errno())


report = {
    "shmget": made(libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666)),
    "msgget": made(libc.msgget(KEY, IPC_CREAT | 0o666)),
}
try:
    os.close(os.open("/dev/mqueue/pyrunner-leftover", os.O_CREAT | os.O_WRONLY, 0o666))
    report["mqueue"] = "allowed"
except OSError as error:
    report["mqueue"] = errno.errorcode.get(error.errno)
print(json.dumps(report), flush=True)
