"""Hostile programs against the real sandbox: every line of the hostile-code notes, and more.

Each program in programs/ states its attack and the expected outcome in its header; TABLE
holds the same expectation in checkable form. Every test asserts that the run was contained
(its verdict, its output, what it could reach) and that afterwards the machine is clean: no
run unit, no process or file of a dynamic user, the server healthy and idle.

Where the sandbox really lets something through, the case stays, marked xfail(strict=True)
with what got through: fixing the policy turns it into a failure until the mark goes.
"""

import hashlib
import json
import platform
import time
from dataclasses import dataclass, field
from typing import Callable, Optional
from urllib.parse import urlsplit

import pytest

from api_client import assert_error_body, assert_run_object
from deployment import SLOWDOWN
from hostile import (
    program,
    program_bytes,
    report_of,
    server_rss_kib,
    unit_journal,
    wait_until_clean,
)

pytestmark = pytest.mark.vm

LIMITS = {"wall_time_s": 2, "memory_mb": 64, "tasks": 16, "output_bytes": 65536}
MAX_WALL_TIME_S = 60
MIB = 1024 * 1024
# A writable space smaller than the memory, which also holds it.
SMALL_SPACE = {"disk_mb": 32, "memory_mb": 128}

# Errors that mean "refused": the sandbox hid the thing (ENOENT) or denied it.
FS_REFUSED = {"EACCES", "EROFS", "EPERM", "ENOENT"}
NO_NETWORK = {"EAFNOSUPPORT", "ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED", "EPERM", "EACCES"}
SOCKET_REFUSED = {"EACCES", "ENOENT", "ECONNREFUSED", "EPERM", "EAFNOSUPPORT"}
# The run unit's SystemCallErrorNumber=EPERM: a filtered system call fails with it.
FILTERED = {"EPERM"}

VICTIM_CODE_MARKER = "VICTIM-CODE-9d41e2"
VICTIM_STDIN = "victim-stdin-5be07a\n"
VICTIM_OUTPUT = "victim-output-" + hashlib.sha256(b"pyrunner victim").hexdigest()[:16]
VICTIM_SLEEP_S = 3 * SLOWDOWN

ON_X86_64 = platform.machine() == "x86_64"


@dataclass
class Target:
    """What a case may refer to: the server under attack, the machine, a victim run."""

    server: object
    machine: object
    victim_id: Optional[str] = None

    @property
    def port(self):
        return str(urlsplit(self.server.base_url).port)


@dataclass
class Case:
    program: str
    # The expected verdict; None when the request itself must be refused (http_status).
    status: Optional[str] = "succeeded"
    limits: dict = field(default_factory=dict)
    args: Callable[[Target], list] = lambda target: []
    stdin: str = ""
    # Expectations on the program's JSON report, by key: a set of allowed values, or a
    # predicate. "*" covers every key not named.
    report: Optional[dict] = None
    stdout: Optional[str] = None
    signal: Optional[str] = None
    # Timing-dependent checks (skipped when twenty runs share the CPUs).
    timing: Optional[Callable[[dict], None]] = None
    # Any further check of the finished run.
    check: Optional[Callable[[dict, Target], None]] = None
    # A flood: exactly output_bytes kept on the flooded stream, the journal left quiet.
    flood: Optional[str] = None
    # A concurrent run to attack: "cancel" it once the attack is over, or let it "finish"
    # (it must still succeed).
    victim: Optional[str] = None
    # Run clean_slate.py afterwards: it must find nothing of this run.
    clean_slate: bool = False
    watch_server_memory: bool = False
    http_status: Optional[int] = None
    x86_64_only: bool = False
    xfail: Optional[str] = None
    xfail_when: bool = True

    def limits_for(self):
        limits = {**LIMITS, **self.limits}
        return {**limits, "wall_time_s": min(MAX_WALL_TIME_S, limits["wall_time_s"] * SLOWDOWN)}


def between(low, high):
    return lambda value: low <= value <= high


SPACE_FULL = {"stopped": {"ENOSPC"}, "mib": between(SMALL_SPACE["disk_mb"] - 2, SMALL_SPACE["disk_mb"])}


def duration_within(low_ms, high_ms):
    def check(run):
        assert low_ms <= run["duration_ms"] <= high_ms, f"duration {run['duration_ms']} ms"

    return check


def ended_by_cpu_limit(cpu_time_s, wall_time_s):
    """The CPU limit ended the run, not the wall limit: it used its CPU time and ended before
    its wall time was up, however long a loaded machine took to give it that CPU."""
    def check(run):
        assert run["cpu_time_ms"] >= 0.9 * cpu_time_s * 1000, f"cpu {run['cpu_time_ms']} ms"
        assert run["duration_ms"] < wall_time_s * 1000, f"duration {run['duration_ms']} ms"

    return check


def cpu_at_most(fraction_of_duration):
    def check(run):
        assert run["cpu_time_ms"] <= fraction_of_duration * run["duration_ms"] + 100, (
            f"cpu {run['cpu_time_ms']} ms in {run['duration_ms']} ms"
        )

    return check


def stdout_lacks(text):
    def check(run, _target):
        assert text not in run["stdout"], run["stdout"][-500:]

    return check


def memory_peak_within_limit(run, _target):
    if run["memory_peak_bytes"] is not None:
        assert run["memory_peak_bytes"] <= run["limits"]["memory_mb"] * MIB * 1.05, run["memory_peak_bytes"]


def raw_stdout_is_binary_prefix(run, target):
    pattern = bytes(range(256)) * 16
    raw = target.server.get(f"/runs/{run['id']}/stdout").content
    assert raw == (pattern * (len(raw) // len(pattern) + 1))[: run["limits"]["output_bytes"]]
    assert "\ufffd" in run["stdout"]


def state_holds_no_links(run, target):
    run_dir = f"{target.server.state_dir}/runs/{run['id']}"
    # Regular files only, the FIFOs a warm unit's run came through and its bootstrap said it
    # was ready through, which are the broker's, and the directory of the collector's copies.
    odd = target.machine.run("find", run_dir, "-mindepth", "1", "-not", "-type", "f", "-not", "(",
                             "(", "-name", "handover", "-o", "-name", "ready", ")",
                             "-type", "p", "-user", "root", ")",
                             "-not", "(", "-path", f"{run_dir}/files", "-type", "d", ")").stdout
    assert odd == "", f"not regular files in {run_dir}: {odd}"
    raw = target.server.get(f"/runs/{run['id']}/stdout").content
    assert raw == run["stdout"].encode()


def no_core_dump(run, target):
    assert run["signal"] == "SIGSEGV", run
    dumps = target.machine.run("sh", "-c", "ls /var/lib/systemd/coredump 2>/dev/null; true").stdout
    assert dumps.strip() == "", dumps


HUGE_ARGS = ["%04d" % i + "a" * 996 for i in range(1000)]
HUGE_STDIN = "s" * (1900 * 1000)
INJECTION_ARGS = [
    "$HOME", "${PATH}", "$(id)", "`id`", "%n", "%i", "%%", "%", "a;b", "x|y", "&&", "'quoted'",
    '"double"', "-c", "--", "line\nbreak", "\\", "\t", " ", "", "\u00fcn\u00efc\u00f6d\u00e9", "\U0001F600",
]


def digest_line(*parts):
    return " ".join(str(part) for part in parts) + "\n"


TABLE = [
    # Resources
    # Room for 16 interpreters whose pages the forks copy as they run: the case is about the
    # task limit, and at 64 MiB a crowded machine sometimes let the copies reach the memory
    # limit first.
    Case("fork_bomb", "timed_out", limits={"memory_mb": 128}, check=memory_peak_within_limit),
    Case("fork_bomb_counted", report={"forked": between(1, 15), "refusal": {"EAGAIN"}}),
    Case("thread_bomb", report={"threads": between(1, 15), "refusal": {"can't start new thread"}}),
    Case("memory_bomb", "out_of_memory", signal="SIGKILL", check=memory_peak_within_limit),
    Case("memory_bomb_mmap", "out_of_memory", signal="SIGKILL", check=memory_peak_within_limit),
    Case("memory_bomb_in_child", "out_of_memory", check=stdout_lacks("parent survived")),
    # The CPU limit counts the interpreter's own start-up (on a warm unit, its imports too), so
    # the script itself gets a little less than the second.
    Case("busy_loop", "timed_out", limits={"cpu_time_s": 1, "wall_time_s": 5}, signal="SIGXCPU",
         timing=duration_within(750, 3500)),
    Case("busy_loop_ignores_sigxcpu", "timed_out", limits={"cpu_time_s": 1, "wall_time_s": 5}, signal="SIGKILL",
         timing=ended_by_cpu_limit(cpu_time_s=1, wall_time_s=5)),
    Case("busy_processes_quota", "timed_out", limits={"cpu_percent": 25}, timing=cpu_at_most(0.4)),
    Case("sleep_forever", "timed_out", timing=lambda run: (duration_within(1900, 4000)(run), cpu_at_most(0.25)(run))),
    Case("ignore_sigterm", "timed_out", stdout="ignoring stop signals\n", signal="SIGKILL",
         timing=duration_within(1900, 4000)),
    Case("double_fork_setsid", stdout="daemonized\n"),
    Case("detached_subprocess", stdout="left behind\n"),
    Case("fd_exhaustion", report={"opened": between(900, 1024), "refusal": {"EMFILE"}}),
    Case("stack_overflow", "failed", signal="SIGSEGV", check=no_core_dump),
    Case("self_sigkill", "failed", signal="SIGKILL", stdout="before the kill\n"),
    Case("self_sigxcpu", "failed", signal="SIGXCPU"),
    Case("oom_score_adj", "out_of_memory", signal="SIGKILL",
         check=lambda run, _: run["stdout"].startswith("refused EACCES")),
    Case("raise_rlimits", "output_limit_exceeded",
         check=lambda run, _: json.loads(run["stdout"].splitlines()[0]) == dict.fromkeys(
             ["RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE"], "ValueError")),
    # Output
    Case("flood_lines", "output_limit_exceeded", flood="stdout",
         check=lambda run, _: run["stdout"].startswith("line 0\nline 1\nline 2\n")),
    Case("flood_no_newline", "output_limit_exceeded", flood="stdout",
         check=lambda run, _: set(run["stdout"]) == {"y"}),
    Case("flood_one_big_write", "output_limit_exceeded", limits={"memory_mb": 256}, flood="stdout",
         watch_server_memory=True, check=lambda run, _: set(run["stdout"]) == {"x"}),
    Case("flood_stderr", "output_limit_exceeded", flood="stderr", stdout="stdout stays small\n",
         check=lambda run, _: set(run["stderr"]) == {"e"}),
    Case("flood_binary", "output_limit_exceeded", flood="stdout", check=raw_stdout_is_binary_prefix),
    Case("output_exactly_at_limit", args=lambda target: [str(LIMITS["output_bytes"])],
         stdout="a" * LIMITS["output_bytes"]),
    Case("output_fd_tricks", report={"reopen_for_writing": {"EACCES"}, "reopen_for_reading": {"EACCES"},
                                     "reopen_stderr": {"EACCES"}, "ftruncate_huge": {"EFBIG"},
                                     "pwrite_far": {"EFBIG"}}),
    # Disk
    # The space is memory: below memory_mb, so that the space, not the memory, gives first.
    *[Case(f"disk_fill_{place}", limits=SMALL_SPACE, report=SPACE_FULL, clean_slate=True)
      for place in ("cwd", "tmp", "var_tmp", "dev_shm")],
    Case("disk_fill_one_file", limits=SMALL_SPACE,
         report={"write": {"ENOSPC"}, "mib": between(SMALL_SPACE["disk_mb"] - 2, SMALL_SPACE["disk_mb"]),
                 "seek": {"EFBIG"}}),
    Case("inode_exhaustion", "out_of_memory", limits={"memory_mb": 32}, clean_slate=True),
    Case("sysv_ipc_leftover", report={"*": {"allowed"}}, clean_slate=True),
    # Network and local sockets
    Case("net_tcp_public", report={"*": NO_NETWORK}),
    Case("net_cloud_metadata", report={"*": NO_NETWORK}),
    Case("net_udp", report={"*": NO_NETWORK}),
    Case("net_raw_sockets", report={"*": NO_NETWORK}),
    Case("local_dbus_socket", report={"*": SOCKET_REFUSED}),
    Case("local_systemd_sockets", report={"*": SOCKET_REFUSED}),
    Case("local_server_port", args=lambda target: [target.port], report={"*": NO_NETWORK}),
    Case("local_abstract_sockets", report={"*": {"ECONNREFUSED"}}),
    # Secrets
    Case("read_shadow", report={"*": FS_REFUSED}),
    Case("read_state_dir", args=lambda target: [target.server.state_dir],
         report={"found": {()}, "*": FS_REFUSED}),
    Case("read_kernel_info", report={"*": FS_REFUSED}),
    Case("read_journal", report={"*": FS_REFUSED}),
    Case("proc_scan", report={"me": lambda pid: pid > 1, "parent": lambda pid: pid > 1,
                              "listed": lambda pids: len(pids) == 2, "opened": {()}, "*": FS_REFUSED},
         check=lambda run, _: report_of(run)["listed"] == sorted([report_of(run)["me"], report_of(run)["parent"]])),
    Case("read_server_environment", args=lambda target: list(target.server.secret), report={"found": {()}}),
    Case("read_unit_files", args=lambda target: [target.server.secret[1]], report={"found": {()}}),
    Case("read_other_runs_code", victim="cancel", report={"found": {()}},
         args=lambda target: [target.victim_id, VICTIM_CODE_MARKER, VICTIM_STDIN.strip()]),
    Case("read_other_runs_output", victim="cancel", args=lambda target: [target.victim_id, VICTIM_OUTPUT],
         report={"found": {()}}),
    Case("see_other_runs_proc", victim="cancel", args=lambda target: [target.victim_id],
         report={"visible": {()}, "victim_pids": {()}}),
    Case("see_other_runs_cgroupfs", victim="cancel", args=lambda target: [target.victim_id],
         report={"paths": {()}, "pids": {()}}),
    Case("see_other_runs_systemd_runtime", victim="cancel", args=lambda target: [target.victim_id],
         report={"paths": {()}}),
    Case("see_other_runs_userdb", victim="cancel", report={"other_dynamic_users": {()}}),
    Case("kill_everything", "failed", signal="SIGKILL", victim="finish", report={"killed": {()}}),
    # Writes outside the scratch space
    Case("write_system_dirs", report={"*": FS_REFUSED}),
    Case("write_home", report={"*": FS_REFUSED}),
    Case("write_state_dir", args=lambda target: [target.server.state_dir], report={"*": FS_REFUSED}),
    Case("write_runtime_dirs", report={"*": FS_REFUSED}),
    Case("escape_cgroup", report={"still_in_unit": {True}, "*": FS_REFUSED}),
    # Privilege
    Case("setuid", report={"su": {"refused"}, "mount_program": {"refused"}, "uid_unchanged": {True}, "*": FILTERED}),
    # setgid, setregid and setresgid are not in @privileged: the kernel refuses the ids, which
    # the run's user namespace does not map.
    Case("become_another_user", report={
        "ids_unchanged": {True}, "*": FILTERED,
        **{f"{call}_{whom}": {"EINVAL"} for call in ("setgid", "setregid", "setresgid") for whom in ("next", "nobody")}}),
    Case("unshare_namespaces", report={"*": FILTERED}, x86_64_only=True),
    Case("mount", report={"*": FILTERED}, x86_64_only=True),
    Case("ptrace", report={"*": FILTERED}, x86_64_only=True),
    Case("keyctl", report={"*": FILTERED}, x86_64_only=True),
    Case("clock_settime", report={"*": FILTERED}, x86_64_only=True),
    Case("sethostname", report={"*": FILTERED}, x86_64_only=True),
    Case("kexec_and_modules", report={"*": FILTERED}, x86_64_only=True),
    Case("bpf", report={"*": FILTERED}, x86_64_only=True),
    Case("perf_event_open", report={"*": FILTERED}, x86_64_only=True),
    Case("io_uring", report={"*": FILTERED}, x86_64_only=True),
    Case("userfaultfd", report={"*": FILTERED}, x86_64_only=True),
    Case("realtime_priority", report={"*": {"EPERM", "EACCES"}}, x86_64_only=True),
    Case("personality", report={"*": FILTERED}),
    Case("wx_memory", report={"*": FILTERED}, x86_64_only=True),
    # What the policy allows on purpose (memfd_create is in @system-service, and a run may
    # execute programs anyway): asserted as it is, so a change of policy shows here.
    Case("memfd_exec", report={"memfd_create": {"allowed"}, "exec": {"allowed"}, "same_uid": {True}}),
    # Planting
    Case("symlink_planting", args=lambda target: [target.server.state_dir], report={"planted": between(1, 12)},
         check=state_holds_no_links),
    Case("hardlink_planting", report={"*": {"EXDEV", "EPERM", "EACCES", "ENOENT"}}),
    # Input
    Case("huge_stdin", stdin=HUGE_STDIN,
         stdout=digest_line(len(HUGE_STDIN), hashlib.sha256(HUGE_STDIN.encode()).hexdigest())),
    Case("huge_args", args=lambda target: HUGE_ARGS,
         stdout=digest_line(len(HUGE_ARGS), sum(map(len, HUGE_ARGS)),
                            hashlib.sha256("\0".join(HUGE_ARGS).encode()).hexdigest())),
    Case("arg_injection", args=lambda target: INJECTION_ARGS, stdout=json.dumps(INJECTION_ARGS) + "\n"),
    Case("nul_in_code", None, http_status=400, check=lambda message, _: "NUL" in message),
    Case("invalid_utf8_code", None, http_status=400, check=lambda message, _: "UTF-8" in message),
    Case("latin1_coding_cookie", None, http_status=400, check=lambda message, _: "UTF-8" in message),
]
CASES = {case.program: case for case in TABLE}


def check_report(case, run):
    report = report_of(run)
    named = {key: expected for key, expected in case.report.items() if key != "*"}
    assert report, "empty report"
    missing = named.keys() - report.keys()
    assert not missing, f"report lacks {sorted(missing)}: {report}"
    for key, value in report.items():
        expected = named.get(key, case.report.get("*"))
        if expected is None:
            continue
        comparable = tuple(value) if isinstance(value, list) else value
        ok = expected(value) if callable(expected) else comparable in expected
        assert ok, f"{case.program}: {key} = {value!r}, expected {expected!r}; whole report: {report}"


class Breach(AssertionError):
    """An expectation of a case did not hold: something got through. The xfail marks expect
    exactly this, so that any other failure of an xfail case still fails the suite."""


def verify(case, run, target, timing=True):
    try:
        verify_expectations(case, run, target, timing)
    except AssertionError as failure:
        raise Breach(str(failure)) from failure


def verify_expectations(case, run, target, timing):
    """Every expectation of the case on its finished run."""
    assert_run_object(run)
    assert run["status"] == case.status, (
        f"{case.program}: {run['status']} (exit {run['exit_code']}, signal {run['signal']}, "
        f"error {run['error']}), expected {case.status}; stderr: {run['stderr'][-1500:]}"
    )
    if case.signal and timing:
        assert run["signal"] == case.signal, run
    if case.stdout is not None:
        assert run["stdout"] == case.stdout, run["stdout"][-1000:]
    if case.report is not None:
        check_report(case, run)
    if case.flood:
        limit = run["limits"]["output_bytes"]
        assert run[f"{case.flood}_truncated"] is True, run
        raw = target.server.get(f"/runs/{run['id']}/{case.flood}").content
        assert len(raw) == limit, f"{len(raw)} bytes kept, limit {limit}"
        journal = unit_journal(target.machine, run["unit"])
        sample = raw[limit // 2 : limit // 2 + 32].decode(errors="replace")
        assert len(journal) <= 20 and not any(sample in line for line in journal), (
            "the flood reached the journal:\n" + "\n".join(journal[:40])
        )
    if case.timing and timing:
        case.timing(run)
    if case.check:
        case.check(run, target)


def submit_raw(server, code_bytes):
    return server.post("/run-file/", data=code_bytes, headers={"Content-Type": "text/x-python"})


def start_victim(server):
    code = program("victim")
    assert VICTIM_CODE_MARKER in code
    victim = server.submit(
        code, args=[str(VICTIM_SLEEP_S)], stdin=VICTIM_STDIN, limits={"wall_time_s": VICTIM_SLEEP_S + 5}
    )
    server.wait_until_running(victim["id"])
    return victim["id"]


def finish_victim(server, victim_id, how):
    seen = server.get_run(victim_id)
    assert seen["status"] == "running", f"the victim ended before the attack did, which proves nothing: {seen}"
    if how == "cancel":
        assert server.delete(f"/runs/{victim_id}").status_code == 200
        server.wait_until_final(victim_id)
        return
    ended = server.wait_until_final(victim_id, timeout_s=VICTIM_SLEEP_S + 15)
    assert ended["status"] == "succeeded", f"the victim did not survive the attack: {ended}"
    assert ended["stdout"] == f"{VICTIM_OUTPUT}\nvictim done\n", ended["stdout"]


def params():
    for case in TABLE:
        marks = []
        if case.xfail and case.xfail_when:
            marks.append(pytest.mark.xfail(strict=True, raises=Breach, reason=case.xfail))
        if case.x86_64_only:
            marks.append(pytest.mark.skipif(not ON_X86_64, reason="x86_64 system call numbers and machine code"))
        yield pytest.param(case, id=case.program, marks=marks)


@pytest.fixture
def clean_machine(machine, server):
    """The machine is clean before the test (so nothing earlier is blamed on it) and after."""
    wait_until_clean(machine, server)
    yield
    wait_until_clean(machine, server)


@pytest.mark.parametrize("case", params())
def test_hostile_program_is_contained(case, server, machine, clean_machine):
    target = Target(server, machine)
    if case.http_status:
        message = assert_error_body(submit_raw(server, program_bytes(case.program)), case.http_status)
        case.check(message, target)
        return
    if case.victim:
        target.victim_id = start_victim(server)
    rss_before = server_rss_kib(machine, server) if case.watch_server_memory else None

    run = server.run(program(case.program), args=case.args(target), stdin=case.stdin, limits=case.limits_for())

    if case.victim:
        finish_victim(server, target.victim_id, case.victim)
    # The limits' timings hold on a real CPU, not on the VM's emulated one.
    verify(case, run, target, timing=SLOWDOWN == 1)
    if rss_before is not None:
        grown_kib = server_rss_kib(machine, server) - rss_before
        assert grown_kib < 16 * 1024, f"the server grew by {grown_kib} KiB for one flood"
    if case.clean_slate:
        seen = report_of(server.run(program("clean_slate"), limits=LIMITS))
        # out/ is every run's, empty when it starts.
        assert seen == {"cwd": ["out"], "tmp": ["out"], "var_tmp": [], "dev_shm": [], "dev_mqueue": [],
                        "shm_key": "ENOENT", "msg_key": "ENOENT"}, seen


def test_argument_list_too_long_to_start_is_refused_up_front(server, clean_machine):
    # 200 000 empty arguments: 600 KB of JSON, under the body limit, but 1.8 MB of command
    # line; passed on, systemd took longer than the bus timeout to parse them (blocking PID 1)
    # and then started the unit behind the server's back.
    started = time.monotonic()
    response = server.post("/run-json/", json={"code": program("huge_args"), "args": [""] * 200_000},
                           read_timeout_s=120)

    assert "command line" in assert_error_body(response, 400)
    assert time.monotonic() - started < 5


def test_run_that_exits_by_itself_is_not_timed_out_by_a_slow_stop(server, machine, clean_machine):
    # At 1 % of a CPU the unit's ExecStopPost helper, which runs under the unit's CPU quota,
    # is slow; the run still ended by itself and must say so, with its cgroup figures.
    run = server.run("print('done')\n", limits={"cpu_percent": 1, "wall_time_s": 30})

    assert run["status"] == "succeeded", run
    assert run["memory_peak_bytes"] is not None, run
    assert run["stdout"] == "done\n"


CROWD = [
    "fork_bomb", "fork_bomb_counted", "thread_bomb", "memory_bomb", "memory_bomb_mmap", "busy_loop",
    "busy_loop_ignores_sigxcpu", "busy_processes_quota", "sleep_forever", "ignore_sigterm",
    "double_fork_setsid", "detached_subprocess", "flood_lines", "flood_no_newline", "flood_stderr",
    "disk_fill_tmp", "disk_fill_dev_shm", "inode_exhaustion", "kill_everything", "net_tcp_public",
]
ORDINARY = "import sys\nprint(sum(range(10**6)), sys.stdin.read())\n"
ORDINARY_CASE = Case("ordinary", stdout="499999500000 unharmed\n")
def test_twenty_hostile_runs_at_once_leave_an_ordinary_run_unharmed(server_factory, machine):
    # Room for all of them at once: the point is that they run side by side.
    crowded = server_factory(max_running=len(CROWD) + 1, max_queued=4)
    target = Target(crowded, machine)
    wait_until_clean(machine, crowded)
    submitted = {}
    for name in CROWD:
        case = CASES[name]
        # A longer wall time: the CPU-bound ones share two CPUs with nineteen others. One that
        # is to end at its memory limit gets the longest there is: how soon it fills its memory
        # depends on how much of the CPUs the crowd leaves it (an emulated CPU, nineteen others),
        # and it must not end at the clock first.
        wall_time_s = (MAX_WALL_TIME_S if case.status == "out_of_memory"
                       else max(case.limits_for()["wall_time_s"], 6 * SLOWDOWN))
        limits = {**case.limits_for(), "wall_time_s": wall_time_s}
        submitted[name] = crowded.submit(program(name), args=case.args(target), stdin=case.stdin, limits=limits)["id"]

    ordinary = crowded.run(ORDINARY, stdin="unharmed")

    ended = {name: crowded.wait_until_final(run_id, timeout_s=60 * SLOWDOWN) for name, run_id in submitted.items()}
    ended["ordinary"] = ordinary
    breaches = []
    for name, run in ended.items():
        try:
            verify(CASES.get(name, ORDINARY_CASE), run, target, timing=False)
        except Breach as breach:
            breaches.append(str(breach))
    wait_until_clean(machine, crowded)
    assert not breaches, "\n".join(breaches)
