"""Calls that ordinary libraries make on the run itself, warm and cold: which ones work, which
the system call filter refuses although they are harmless, and that every harmful form fails.

The filter denies @privileged and @resources whole (src/broker/units/unit_properties.cpp says
why: systemd-analyze security rates a group by whether all of its calls are denied), so the
harmless calls of those groups fail with its EPERM. Those whose arguments prove them no-ops
are the exception: the unit's reaper adds a filter of its own (src/helpers/noop_id_calls.cpp)
under which setuid, setreuid and setresuid to the run's own uid or -1 succeed, and fchown of a
negative descriptor fails with the kernel's EBADF. The harmful forms would fail without the
filter too: setgid, setregid and setresgid are not in @privileged, and show the kernel's own
answers.
"""

import json

import pytest

from test_warm_pool import warm_run

CALLS = r"""
import errno, json, os, resource, subprocess

uid, gid = os.getuid(), os.getgid()
other_uid, other_gid = uid + 1, gid + 1
with open("owned", "w"):
    pass
os.symlink("owned", "link")


def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def spawn(**flags):
    pid = os.posix_spawn("/bin/true", ["true"], {}, **flags)
    if os.waitpid(pid, 0)[1] != 0:
        raise OSError(errno.ECHILD, "/bin/true failed")


def in_child(action):
    # Scheduling changes stick to the process: each one in a child of its own.
    def run():
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                action()
            except OSError as error:
                code = error.errno
            finally:
                os._exit(code)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if code:
            raise OSError(code, os.strerror(code))
    return run


def nice_by(step):
    def run():
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + step)
    return run


policy = lambda name, priority=0: in_child(
    lambda: os.sched_setscheduler(0, getattr(os, name), os.sched_param(priority)))
fd = os.open("owned", os.O_RDONLY)
report = {
    "setgid_own": attempt(lambda: os.setgid(gid)),
    "setregid_unchanged": attempt(lambda: os.setregid(-1, -1)),
    "setresgid_unchanged": attempt(lambda: os.setresgid(-1, -1, -1)),
    "posix_spawn": attempt(spawn),
    "subprocess": attempt(lambda: subprocess.run(["/bin/true"], check=True)),
    "rlimit_nice": resource.getrlimit(resource.RLIMIT_NICE),
    "rlimit_rtprio": resource.getrlimit(resource.RLIMIT_RTPRIO),
    "chown_own": attempt(lambda: os.chown("owned", uid, gid)),
    "lchown_own": attempt(lambda: os.lchown("link", uid, gid)),
    "fchown_own": attempt(lambda: os.fchown(fd, uid, gid)),
    "fchownat_own": attempt(lambda: os.chown("owned", uid, gid, dir_fd=os.open(".", os.O_RDONLY))),
    "fchown_bad_fd": attempt(lambda: os.fchown(-1, uid, gid)),
    "setreuid_unchanged": attempt(lambda: os.setreuid(-1, -1)),
    "setresuid_unchanged": attempt(lambda: os.setresuid(-1, -1, -1)),
    "setuid_own": attempt(lambda: os.setuid(uid)),
    "setgroups_same": attempt(lambda: os.setgroups(os.getgroups())),
    "posix_spawn_resetids": attempt(lambda: spawn(resetids=True)),
    "nice_plus_1": attempt(in_child(lambda: os.nice(1))),
    "setpriority_plus_1": attempt(in_child(nice_by(1))),
    "sched_setaffinity_own": attempt(lambda: os.sched_setaffinity(0, os.sched_getaffinity(0))),
    "sched_batch": attempt(policy("SCHED_BATCH")),
    "sched_idle": attempt(policy("SCHED_IDLE")),
    "nice_minus_1": attempt(in_child(lambda: os.nice(-1))),
    "setpriority_minus_1": attempt(in_child(nice_by(-1))),
    "sched_fifo": attempt(policy("SCHED_FIFO", 1)),
    "setuid_root": attempt(lambda: os.setuid(0)),
    "setuid_other": attempt(lambda: os.setuid(other_uid)),
    "chown_to_root": attempt(lambda: os.chown("owned", 0, -1)),
    "chown_to_other": attempt(lambda: os.chown("owned", other_uid, -1)),
    "setgid_root": attempt(lambda: os.setgid(0)),
    "setgid_other": attempt(lambda: os.setgid(other_gid)),
}
report["ids"] = [os.getresuid(), os.getresgid()] == [(uid,) * 3, (gid,) * 3]
print(json.dumps(report))
"""

WORK = {
    "setgid_own", "setregid_unchanged", "setresgid_unchanged", "posix_spawn", "subprocess",
    # Past the reaper's filter, which answers for the unit's: no id changes.
    "setreuid_unchanged", "setresuid_unchanged", "setuid_own", "posix_spawn_resetids",
}
# Harmless, and refused by the filter all the same: their arguments do not show that they
# change nothing.
FILTERED = {
    "chown_own", "lchown_own", "fchown_own", "fchownat_own",
    # The kernel refuses setgroups too, whatever the list: no CAP_SETGID.
    "setgroups_same",
    "nice_plus_1", "setpriority_plus_1", "sched_setaffinity_own", "sched_batch", "sched_idle",
}
HARMFUL = {
    # The filter's EPERM; past it, the kernel's EPERM (nice) or EACCES (setpriority).
    "nice_minus_1": {"EPERM", "EACCES"},
    "setpriority_minus_1": {"EPERM", "EACCES"},
    "sched_fifo": {"EPERM"},
    "setuid_root": {"EPERM"},
    "setuid_other": {"EPERM"},
    "chown_to_root": {"EPERM"},
    "chown_to_other": {"EPERM"},
    # Past the filter: no CAP_SETGID for root's group, and other groups are not mapped in
    # the run's user namespace.
    "setgid_root": {"EPERM"},
    "setgid_other": {"EINVAL"},
}


@pytest.mark.parametrize("path", ["cold", "warm"])
def test_calls_on_the_run_itself(warm_and_cold, machine, path):
    warm, cold = warm_and_cold
    run = warm_run(warm, machine, CALLS) if path == "warm" else cold.run(CALLS)
    assert run["status"] == "succeeded", run
    report = json.loads(run["stdout"])

    assert {name: report[name] for name in WORK} == dict.fromkeys(WORK, "ok")
    # The reaper's filter answers as the kernel would.
    assert report["fchown_bad_fd"] == "EBADF"
    assert {name: report[name] for name in FILTERED} == dict.fromkeys(FILTERED, "EPERM")
    assert {name: report[name] for name in HARMFUL if report[name] not in HARMFUL[name]} == {}
    assert report["rlimit_nice"] == report["rlimit_rtprio"] == [0, 0]
    assert report["ids"] is True
