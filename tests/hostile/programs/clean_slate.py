# Not an attack: run right after one, it reports what this run can see of earlier runs:
# files in its scratch directories and the System V IPC key sysv_ipc_leftover.py used.
# Expected: `succeeded` with every place empty and the key absent.
import ctypes
import errno
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x70797275


def lookup(function):
    return "present" if function(KEY, 0, 0) >= 0 else errno.errorcode.get(ctypes.get_errno())


print(json.dumps({
    "cwd": sorted(os.listdir(".")),
    "tmp": sorted(os.listdir("/tmp")),
    "var_tmp": sorted(os.listdir("/var/tmp")),
    "dev_shm": sorted(os.listdir("/dev/shm")),
    "dev_mqueue": sorted(os.listdir("/dev/mqueue")),
    "shm_key": lookup(libc.shmget),
    "msg_key": lookup(lambda key, _size, flags: libc.msgget(key, flags)),
}), flush=True)
