# Attack: get around the output cap through the descriptor: reopen the capture file via
# /proc/self/fd/1 (to truncate it or read others'), grow it with ftruncate, drop O_APPEND and
# pwrite far past the end.
# Expected: reopening is refused (EACCES: the file belongs to root in a root-only directory),
# growing past the cap fails with EFBIG; `succeeded` with its report intact.
import errno
import fcntl
import json
import os


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def drop_append_and_pwrite():
    flags = fcntl.fcntl(1, fcntl.F_GETFL)
    fcntl.fcntl(1, fcntl.F_SETFL, flags & ~os.O_APPEND)
    os.pwrite(1, b"x", 1 << 30)


print(json.dumps({
    "reopen_for_writing": attempt(lambda: open("/proc/self/fd/1", "w").close()),
    "reopen_for_reading": attempt(lambda: open("/proc/self/fd/1", "r").close()),
    "reopen_stderr": attempt(lambda: open("/proc/self/fd/2", "a").close()),
    "ftruncate_huge": attempt(lambda: os.ftruncate(1, 1 << 40)),
    "pwrite_far": attempt(drop_append_and_pwrite),
}), flush=True)
