# Attack: run a program that exists only in memory: copy a binary into a memfd_create()
# file and execute it (fileless malware), sidestepping noexec mounts.
# Expected, per the current policy (memfd_create is in @system-service, and the run may
# execute programs anyway): allowed, the in-memory program runs as the same unprivileged
# user; `succeeded`.
import errno
import json
import os

report = {}
try:
    fd = os.memfd_create("payload")
    report["memfd_create"] = "allowed"
    with open("/usr/bin/id", "rb") as binary:
        os.write(fd, binary.read())
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.dup2(write_end, 1)
        try:
            os.execve(fd, ["id", "-u"], {})
        finally:
            os._exit(127)
    os.close(write_end)
    uid = os.read(read_end, 100).decode().strip()
    _, status = os.waitpid(child, 0)
    report["exec"] = "allowed" if os.waitstatus_to_exitcode(status) == 0 else "refused"
    report["same_uid"] = uid == str(os.getuid())
except OSError as error:
    report.setdefault("memfd_create", errno.errorcode.get(error.errno, str(error)))
print(json.dumps(report), flush=True)
