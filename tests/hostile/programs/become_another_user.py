# Attack: take on the identity of another user that is not root: the next dynamic user (as
# likely as any to be another run's), nobody. Every call that sets ids, with every one of
# them changed; hand a file of its own to those users.
# Expected: every one refused: EPERM from the system call filter, which denies @privileged
# (setuid, setreuid, setresuid, setfsuid, setgroups, chown...); setgid, setregid and
# setresgid are not in it and reach the kernel, which answers EINVAL, since the run's user
# namespace maps no id but the run's and root's (PrivateUsers=). The ids are unchanged;
# `succeeded`.
import ctypes
import errno
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.getuid(), os.getgid()
NOBODY = 65534


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def setfsuid(target):
    # It answers the previous fsuid either way; the filter makes it fail instead.
    if libc.setfsuid(target) == -1:
        raise OSError(ctypes.get_errno(), "setfsuid")


def ids():
    with open("/proc/self/status") as status:
        return [line for line in status if line.startswith(("Uid:", "Gid:", "Groups:"))]


before = ids()
with open("mine", "w") as f:
    f.write("handed over\n")
report = {}
for name, other_uid, other_gid in (("next", uid + 1, gid + 1), ("nobody", NOBODY, NOBODY)):
    report.update({
        f"setuid_{name}": attempt(lambda: os.setuid(other_uid)),
        f"seteuid_{name}": attempt(lambda: os.seteuid(other_uid)),
        f"setreuid_{name}": attempt(lambda: os.setreuid(other_uid, other_uid)),
        f"setresuid_{name}": attempt(lambda: os.setresuid(other_uid, other_uid, other_uid)),
        f"setfsuid_{name}": attempt(lambda: setfsuid(other_uid)),
        f"setgid_{name}": attempt(lambda: os.setgid(other_gid)),
        f"setregid_{name}": attempt(lambda: os.setregid(other_gid, other_gid)),
        f"setresgid_{name}": attempt(lambda: os.setresgid(other_gid, other_gid, other_gid)),
        f"setgroups_{name}": attempt(lambda: os.setgroups([other_gid])),
        f"chown_{name}": attempt(lambda: os.chown("mine", other_uid, -1)),
        f"chgrp_{name}": attempt(lambda: os.chown("mine", -1, other_gid)),
    })
report["ids_unchanged"] = ids() == before and os.stat("mine").st_uid == uid
print(json.dumps(report), flush=True)
