"""A yardstick: ordinary Python runs through pyrunner as it does bare.

CPython's own test suite (Debian's libpython3.11-testsuite, /usr/lib/python3.11/test) is run
module by module, bare and through pyrunner, cold and warm (bare_runs.py says what bare is),
and compared test by test. A test must end the same warm and cold, always; and through
pyrunner as bare, unless EXPECTED below names it with the layer that makes it differ. That
list is mirrored in docs/security.md ("What ordinary code sees"), which is checked. Tests too
timing-sensitive to end the same way twice even bare are in FLAKY, with the reason, and left
out of every comparison.

Each run gets the limits' maxima: the suite's tests, not the limits, are measured. Modules
that do not fit one run's 60 s are split by test class (PARTS); every part runs three times
(bare, cold, warm), the three at once, a few parts at a time. The table of every module's
counts and every difference goes to build/integration-logs/yardstick.md.
"""

import concurrent.futures
import fnmatch
import json
import os
import time
from pathlib import Path

import pytest

from bare_runs import LOGS, ensure_bare_user, run_bare, run_pyrunner

RUNNER = Path(__file__).parent / "yardstick" / "runner.py"
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
DOC_SECTION = "## What ordinary code sees"

# The maxima of docs/api.md; as many CPUs as bare has.
LIMITS = {"wall_time_s": 60, "cpu_time_s": 60, "memory_mb": 2048, "tasks": 256,
          "output_bytes": 16 * 1024 * 1024, "cpu_percent": 100 * (os.cpu_count() or 1)}
# The runner names the test that hangs and stops, before the wall limit kills it unheard.
DEADLINE_S = 55
# Parts run at once, each as three runs (bare, cold, warm): on 2 CPUs more would make the
# timing-sensitive tests the subject of the comparison.
PARTS_AT_ONCE = 1

MULTIPROCESSING = "test.test_multiprocessing_spawn"
# Spawn, where a child runs the script's __main__ again: the path warm units had to learn.
# The sleep-heavy synchronisation classes (Barrier, Condition, Wait, Poll, Finalize,
# PoolWorkerLifetime, ManagerRestart: some 50 s of timed waits on the primitives the chosen
# classes already use) and the WithThreads* classes (threads, no process) are left out.
MULTIPROCESSING_A = ("WithProcessesTestProcess", "WithProcessesTestPool", "WithProcessesTestQueue",
                     "WithProcessesTestSharedMemory", "WithProcessesTestConnection",
                     "WithProcessesTestListener", "WithProcessesTestListenerClient",
                     "WithProcessesTestLock", "WithProcessesTestSemaphore",
                     "WithProcessesTestEvent")
MULTIPROCESSING_B = ("WithProcessesTestValue", "WithProcessesTestArray", "WithProcessesTestHeap",
                     "WithProcessesTestSharedCTypes", "WithProcessesTestLogging",
                     "WithProcessesTestSubclassingProcess",
                     "WithProcessesTestPicklingConnections", "WithManagerTestPool",
                     "WithManagerTestQueue", "WithManagerTestContainers", "WithManagerTestLock",
                     "TestSyncManagerTypes", "TestResourceTracker", "TestStartMethod",
                     "TestNoForkBomb", "TestCloseFds", "TestFlags", "MiscTestCase",
                     "TestSimpleQueue", "TestInitializers", "TestStdinBadfiledescriptor",
                     "TestIgnoreEINTR", "TestInvalidFamily", "TestNamedResource")
# test_asyncio without test_tasks (the same pure-Python logic eight times over) and TLS
# (test_ssl, test_sslproto: TLS over loopback TCP, which test_events and test_socket show).
ASYNCIO = "test.test_asyncio."

# One run each: its specs, run one after the other in one interpreter, as regrtest without -j
# would. The slowest first, so that the quick ones fill in at the end.
PARTS = [
    ["test.test_signal:SiginterruptTest"],
    ["test.test_signal:-SiginterruptTest", "test.test_select", "test.test_selectors"],
    ["test.test_subprocess:ProcessTestCase,RunFuncTestCase"],
    ["test.test_subprocess:-ProcessTestCase,RunFuncTestCase"],
    ["test.test_io"],
    ["test.test_socket"],
    ["test.test_logging"],
    [f"{MULTIPROCESSING}:{','.join(MULTIPROCESSING_A)}"],
    [f"{MULTIPROCESSING}:{','.join(MULTIPROCESSING_B)}"],
    [ASYNCIO + name for name in ("test_subprocess", "test_unix_events")],
    [ASYNCIO + name for name in ("test_events", "test_base_events", "test_selector_events",
                                 "test_sock_lowlevel", "test_sendfile", "test_server",
                                 "test_streams")],
    [ASYNCIO + name for name in ("test_futures", "test_locks", "test_queues", "test_runners",
                                 "test_timeouts", "test_waitfor", "test_taskgroups",
                                 "test_threads", "test_context", "test_pep492")],
    ["test.test_threading", "test.test_time", "test.test_tempfile", "test.test_resource"],
    ["test.test_os", "test.test_posix", "test.test_shutil", "test.test_pathlib",
     "test.test_glob", "test.test_fnmatch", "test.test_fileio", "test.test_mmap"],
    ["test.test_tarfile", "test.test_zipfile", "test.test_zlib", "test.test_csv",
     "test.test_getpass", "test.test_pwd", "test.test_grp"],
    ["test.test_datetime", "test.test_decimal", "test.test_statistics", "test.test_math",
     "test.test_random", "test.test_struct"],
    ["test.test_json", "test.test_re", "test.test_unicode", "test.test_collections",
     "test.test_itertools", "test.test_hashlib", "test.test_ctypes"],
    ["test.test_sys", "test.test_sysconfig", "test.test_site", "test.test_locale",
     "test.test_platform", "test.test_uuid", "test.test_fcntl", "test.test_pty"],
]
VARIANTS = ("bare", "cold", "warm")


def module_of(spec):
    return spec.partition(":")[0].removeprefix("test.")


MODULES = sorted({module_of(spec) for part in PARTS for spec in part})

# Tests that end differently through pyrunner than bare, by cause: the layer that makes them
# differ (docs/security.md, "The layers of a run unit") and fnmatch patterns on unittest's
# test ids. Each layer stays; docs/security.md, "What ordinary code sees", says why, with
# the same causes, layers and patterns, which test_the_differences_are_documented checks.
EXPECTED = {
    "network": ("PrivateNetwork=yes", [
        # TCP, UDP and IPv6 sockets (AF_UNIX ones work), and the interfaces' MAC addresses.
        "test.test_socket.*",
        "test.test_asyncio.test_base_events.BaseEventLoopWithSelectorTests.*",
        "test.test_asyncio.test_base_events.BaseLoopSockSendfileTests.*",
        "test.test_asyncio.test_base_events.TestSelectorUtils.*",
        "test.test_asyncio.test_events.*EventLoopTests.*",
        "test.test_asyncio.test_sendfile.*EventLoopTests.*",
        "test.test_asyncio.test_server.SelectorStartServerTests.*",
        "test.test_asyncio.test_sock_lowlevel.*EventLoopTests.*",
        "test.test_asyncio.test_streams.StreamTests.*",
        "test.test_asyncio.test_unix_events.*.test_create_unix_*_path_inetsock",
        "test.test_multiprocessing_spawn.TestCloseFds.test_closefd",
        "test.test_os.TestSendfile.*",
        "test.test_signal.WakeupFDTests.test_*socket*",
        "test.test_uuid.*.test_ip_getnode",
        "test.test_uuid.*.test_ifconfig_getnode",
    ]),
    "syscall filter": ("SystemCallFilter=", [
        # chown to oneself, a higher nice value, one's own CPUs, SCHED_BATCH/SCHED_IDLE.
        "test.test_os.ChownFileTests.test_chown_uid_gid_arguments_must_be_index",
        "test.test_os.ProgramPriorityTests.test_set_get_priority",
        "test.test_os.TestInvalidFD.test_fchown",
        "test.test_posix.PosixTester.test_chown",
        "test.test_posix.PosixTester.test_fchown",
        "test.test_posix.PosixTester.test_lchown",
        "test.test_posix.PosixTester.test_sched_setaffinity",
        "test.test_posix.TestPosixDirFd.test_chown_dir_fd",
        "test.test_posix.TestPosixSpawn*.test_setscheduler_*",
        "test.test_shutil.TestMisc.test_chown",
    ]),
    "file size": ("LimitFSIZE=", [
        # Sparse files past disk_mb: a 2 GiB offset, a 4 GiB mapping.
        "test.test_io.*.test_large_file_ops",
        "test.test_mmap.LargeMmapTests.*",
        "test.test_resource.ResourceTest.test_fsize_ismax",
    ]),
    "CPU time": ("LimitCPU=", [
        "test.test_resource.ResourceTest.test_setrusage_refcount",
    ]),
    "set-group-id": ("RestrictSUIDSGID=yes", [
        "test.test_os.MakedirTests.test_exist_ok_s_isgid_directory",
    ]),
    "other users": ("PrivateUsers=yes", [
        "test.test_subprocess.POSIXProcessTestCase.test_group",
    ]),
    "package directories": ("InaccessiblePaths=", [
        # Bare skips it: a .pth file in /usr/local imports more at startup.
        "test.test_site.StartupImportTests.test_startup_imports",
    ]),
}

# Timing-sensitive tests that do not end the same way twice even bare on a busy machine: left
# out of every comparison, with the reason.
FLAKY = {}


def cause_of(test_id):
    """EXPECTED's cause for `test_id`, or None."""
    return next((cause for cause, (_, patterns) in EXPECTED.items()
                 if any(fnmatch.fnmatchcase(test_id, pattern) for pattern in patterns)), None)


def flaky(test_id):
    return next((pattern for pattern in FLAKY if fnmatch.fnmatchcase(test_id, pattern)), None)


def parse(outcome):
    """{module: {test id: (outcome, detail)}} from the runner's lines, and the modules whose
    part ended (its @yard-end line)."""
    results, module, ended = {}, None, False
    for line in outcome.stdout.splitlines():
        kind, _, payload = line.partition(" ")
        if kind == "@yard-part":
            module = module_of(json.loads(payload)["spec"])
            results.setdefault(module, {})
        elif kind == "@yard" and module is not None:
            record = json.loads(payload)
            results[module][record["id"]] = (record["outcome"], record["detail"])
        elif kind == "@yard-end":
            ended = True
    return results, ended


class Yard:
    def __init__(self):
        self.results = {variant: {module: {} for module in MODULES} for variant in VARIANTS}
        # Parts that did not run to their end: (variant, specs, how the run ended).
        self.broken = []
        self.seconds = {}


def run_part(machine, home, servers, part, variant):
    args = ["--deadline", str(DEADLINE_S), *part]
    code = RUNNER.read_text()
    if variant == "bare":
        return run_bare(machine, home, code, args, limit_s=LIMITS["wall_time_s"])
    server = servers[variant]
    return run_pyrunner(server, machine, code, warm=variant == "warm", args=args, limits=LIMITS)


@pytest.fixture(scope="module")
def yard(machine, warm_and_cold):
    warm, cold = warm_and_cold
    servers = {"warm": warm, "cold": cold}
    home = ensure_bare_user(machine)
    yard = Yard()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARTS_AT_ONCE * len(VARIANTS)) as pool:
        jobs = {pool.submit(run_part, machine, home, servers, part, variant): (tuple(part), variant)
                for part in PARTS for variant in VARIANTS}
        for job in concurrent.futures.as_completed(jobs):
            part, variant = jobs[job]
            outcome = job.result()
            results, ended = parse(outcome)
            for module, tests in results.items():
                yard.results[variant][module].update(tests)
            if not ended:
                yard.broken.append((variant, part, outcome.describe()))
    yard.seconds["total"] = time.monotonic() - started
    write_report(yard)
    return yard


def counts(tests):
    tally = {}
    for outcome, _ in tests.values():
        tally[outcome] = tally.get(outcome, 0) + 1
    return tally


def summary(tests):
    tally = counts(tests)
    text = (f"{tally.get('pass', 0)} passed, {tally.get('fail', 0)} failed, "
            f"{tally.get('error', 0)} errors, {tally.get('skip', 0)} skipped")
    rest = {name: n for name, n in tally.items() if name not in ("pass", "fail", "error", "skip")}
    return text + "".join(f", {n} {name}" for name, n in sorted(rest.items()))


def differences(yard, module):
    """[(test id, {variant: (outcome, detail)}, cause)] for the tests of `module` that did not
    end the same way in every variant; cause: EXPECTED's pattern, FLAKY's, or None."""
    found = []
    per_variant = [yard.results[variant][module] for variant in VARIANTS]
    for test_id in sorted(set().union(*per_variant)):
        ends = {variant: yard.results[variant][module].get(test_id, ("absent", ""))
                for variant in VARIANTS}
        if len({outcome for outcome, _ in ends.values()}) > 1:
            found.append((test_id, ends))
    return found


def write_report(yard):
    lines = ["# Yardstick: CPython's test suite bare and through pyrunner", "",
             f"{len(PARTS)} parts, {len(MODULES)} modules, three runs each; "
             f"{yard.seconds['total']:.0f} s in all.", "",
             "| module | bare | pyrunner cold | pyrunner warm |", "|---|---|---|---|"]
    for module in MODULES:
        lines.append(f"| {module} | " + " | ".join(summary(yard.results[variant][module])
                                                   for variant in VARIANTS) + " |")
    lines += ["", "## Tests that ended differently", ""]
    for module in MODULES:
        for test_id, ends in differences(yard, module):
            cause = cause_of(test_id) or (flaky(test_id) and "flaky")
            lines.append(f"- `{test_id}` ({module}): {cause or 'UNEXPLAINED'}")
            for variant, (outcome, detail) in ends.items():
                lines.append(f"  - {variant}: {outcome} {detail}")
    if yard.broken:
        lines += ["", "## Parts that did not run to their end", ""]
        for variant, part, description in yard.broken:
            lines += [f"- {variant} {' '.join(part)}", "```", description, "```"]
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "yardstick.md").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("module", MODULES)
def test_a_module_runs_through_pyrunner_as_it_does_bare(yard, module):
    bare = yard.results["bare"][module]
    assert bare, f"{module}: no test ran bare"
    problems = []
    for test_id, ends in differences(yard, module):
        if flaky(test_id):
            continue
        (cold, cold_detail), (warm, warm_detail) = ends["cold"], ends["warm"]
        if cold != warm:
            problems.append(f"{test_id}: cold {cold} ({cold_detail}), warm {warm} ({warm_detail})")
        elif cause_of(test_id) is None:
            bare_end, bare_detail = ends["bare"]
            problems.append(f"{test_id}: bare {bare_end} ({bare_detail}), pyrunner {cold} ({cold_detail})")
    assert not problems, f"{len(problems)} tests differ:\n" + "\n".join(problems)


def documented_causes():
    """{cause: its row} of the table in docs/security.md's "What ordinary code sees"."""
    text = SECURITY_DOC.read_text()
    section = text.split(DOC_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("cause", "---"):
            rows[cells[0]] = line
    return rows


def test_the_differences_are_documented():
    rows = documented_causes()
    assert set(rows) == set(EXPECTED), "docs/security.md lists other causes than EXPECTED"
    for cause, (layer, patterns) in EXPECTED.items():
        assert f"`{layer}`" in rows[cause], f"{cause}: the row does not name {layer}"
        missing = [pattern for pattern in patterns if f"`{pattern}`" not in rows[cause]]
        assert not missing, f"{cause}: the row leaves out {missing}"
