# Attack: starve the host: real-time scheduling (SCHED_FIFO/SCHED_RR), a negative nice
# value (setpriority, nice), real-time I/O priority.
# Expected: every one refused (EPERM); `succeeded`.
import ctypes
import errno
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def ioprio_realtime():
    IOPRIO_WHO_PROCESS, IOPRIO_CLASS_RT = 1, 1
    if libc.syscall(ctypes.c_long(251), ctypes.c_long(IOPRIO_WHO_PROCESS), ctypes.c_long(0),
                    ctypes.c_long(IOPRIO_CLASS_RT << 13)) == -1:
        raise OSError(ctypes.get_errno(), "ioprio_set")


print(json.dumps({
    "sched_fifo": attempt(lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))),
    "sched_rr": attempt(lambda: os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(50))),
    "nice_minus_10": attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, -10)),
    "nice_syscall_minus_1": attempt(lambda: os.nice(-1)),
    "ioprio_realtime": attempt(ioprio_realtime),
}), flush=True)
