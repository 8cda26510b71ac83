# Attack: become root or another user: setuid(0) and friends, set the setuid/setgid bit on
# a file of its own (NoNewPrivileges aside, a setuid file could be handed to others), chown
# a file to root, run the setuid programs of the system.
# Expected: every one refused (EPERM), su/mount fail, the uid is unchanged; `succeeded`.
import errno
import json
import os
import subprocess


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def program(*argv):
    try:
        done = subprocess.run(argv, capture_output=True, timeout=5)
        return "allowed" if done.returncode == 0 else "refused"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


uid = os.getuid()
with open("own", "w") as f:
    f.write("#!/bin/sh\nid\n")
report = {
    "setuid_0": attempt(lambda: os.setuid(0)),
    "setresuid_0": attempt(lambda: os.setresuid(0, 0, 0)),
    "setgid_0": attempt(lambda: os.setgid(0)),
    "setgroups_0": attempt(lambda: os.setgroups([0])),
    "chmod_setuid": attempt(lambda: os.chmod("own", 0o4755)),
    "chmod_setgid": attempt(lambda: os.chmod("own", 0o2755)),
    "chown_root": attempt(lambda: os.chown("own", 0, 0)),
    "su": program("su", "-c", "id"),
    "mount_program": program("mount", "-t", "tmpfs", "none", "/tmp"),
}
report["uid_unchanged"] = os.getuid() == uid != 0
print(json.dumps(report), flush=True)
