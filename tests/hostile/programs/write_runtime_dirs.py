# Attack: drop a unit file where systemd would load it (/run/systemd/system,
# /etc/systemd/system), rewrite its own code credential, write to /run, /dev, and to kernel
# tunables (/proc/sys).
# Expected: every attempt refused; `succeeded`.
import errno
import json
import os
import sys

UNIT = "[Service]\nExecStart=/bin/sh -c 'id > /tmp/root'\n"


def attempt(path, text=UNIT):
    try:
        with open(path, "w") as f:
            f.write(text)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "run_systemd_system": attempt("/run/systemd/system/pyrunner-evil.service"),
    "run_systemd_transient": attempt("/run/systemd/transient/pyrunner-evil.service"),
    "etc_systemd_system": attempt("/etc/systemd/system/pyrunner-evil.service"),
    "own_code": attempt(os.path.abspath(sys.argv[0]), "print('rewritten')\n"),
    "run": attempt("/run/pyrunner-was-here"),
    "dev": attempt("/dev/pyrunner-was-here"),
    "drop_caches": attempt("/proc/sys/vm/drop_caches", "3"),
    "core_pattern": attempt("/proc/sys/kernel/core_pattern", "|/tmp/x"),
    "sysrq": attempt("/proc/sysrq-trigger", "b"),
}), flush=True)
