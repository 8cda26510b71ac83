# Attack: hard-link files the run does not own into its scratch directories (a hard link
# keeps a root-owned file alive and reachable under a name the run controls): /etc/shadow,
# /etc/passwd, its own code credential, its own output file through /proc/self/fd/1.
# Expected: every link refused (EXDEV across filesystems, EPERM/EACCES/ENOENT otherwise);
# `succeeded`.
import errno
import json
import os
import sys


def attempt(source, target):
    try:
        os.link(source, target)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "shadow_to_tmp": attempt("/etc/shadow", "/tmp/shadow"),
    "passwd_to_var_tmp": attempt("/etc/passwd", "/var/tmp/passwd"),
    "own_code_to_tmp": attempt(os.path.abspath(sys.argv[0]), "/tmp/main.py"),
    "own_stdout_to_tmp": attempt("/proc/self/fd/1", "/tmp/stdout"),
    "own_stdout_via_linkat": attempt(os.readlink("/proc/self/fd/1"), "/tmp/stdout2"),
}), flush=True)
