"""Runs modules of CPython's own test suite (Debian's libpython3.11-testsuite) and prints one
line per test, so that the same tests run bare and through pyrunner can be compared test by
test (tests/integration/test_yardstick.py). Standard library only: it is a run's code as it
is.

    runner.py [--deadline SECONDS] SPEC...

SPEC is a module ("test.test_os"), a module with the test classes to run
("test.test_os:FileTests,StatAttributeTests"), or a module with the classes to leave out
("test.test_os:-FileTests"), which is how a module too slow for one run is split in parts.

Each result is a line of its own: "@yard " and a JSON object {"id", "outcome", "detail"},
outcome one of pass, fail, error, skip, xfail, xpass; detail the skip's reason or the
exception's last line. A test whose subtests failed is a fail (or an error) once, with the
first failing subtest's detail. Fixtures that fail or skip outside any test (setUpClass,
setUpModule) are reported under unittest's own ids ("setUpClass (test.test_x.Class)"). At
the end comes "@yard-end" with the counts. --deadline: past it, every thread's traceback goes
to stderr and the process exits, so a test that hangs is named rather than lost to the wall
limit.
"""

import faulthandler
import importlib
import json
import sys
import time
import traceback
import unittest

from test import support

OUT = sys.__stdout__
PRECEDENCE = ("pass", "skip", "xfail", "xpass", "fail", "error")


def emit(kind, payload):
    # A test may have left a partial line on stdout: every record starts one of its own.
    OUT.write(f"\n{kind} {json.dumps(payload, sort_keys=True)}\n")
    OUT.flush()


def last_line(err):
    """The exception's type and message: what a person reads first of a failure."""
    kind, value, _ = err
    lines = traceback.format_exception_only(kind, value)
    text = lines[-1].strip() if lines else kind.__name__
    return text[:400]


class LineResult(unittest.TestResult):
    """Collects each test's outcome and prints it when the test stops."""

    def __init__(self):
        super().__init__()
        self.current = None
        self.started = 0.0
        self.counts = {name: 0 for name in PRECEDENCE}
        self.seen = {}

    def note(self, test, outcome, detail=""):
        test_id = test.id()
        if self.current is not None and self.current[0] == test_id:
            if PRECEDENCE.index(outcome) > PRECEDENCE.index(self.current[1]):
                self.current = (test_id, outcome, detail)
            return
        # Outside any test: a class or module fixture.
        self.report(test_id, outcome, detail)

    def report(self, test_id, outcome, detail, seconds=0.0):
        # The same id twice in one run (a test the loader found twice) is kept apart.
        seen = self.seen.get(test_id, 0) + 1
        self.seen[test_id] = seen
        if seen > 1:
            test_id = f"{test_id}#{seen}"
        self.counts[outcome] += 1
        emit("@yard", {"id": test_id, "outcome": outcome, "detail": detail,
                       "seconds": round(seconds, 3)})

    def startTest(self, test):
        super().startTest(test)
        self.current = (test.id(), "pass", "")
        self.started = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        if self.current is not None:
            self.report(*self.current, time.monotonic() - self.started)
        self.current = None

    def addError(self, test, err):
        super().addError(test, err)
        self.note(test, "error", last_line(err))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.note(test, "fail", last_line(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.note(test, "skip", str(reason)[:400])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.note(test, "xfail", last_line(err))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.note(test, "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is None:
            return
        outcome = "fail" if issubclass(err[0], test.failureException) else "error"
        # The subtest's id names its parameters: the detail says which one failed.
        self.note(test, outcome, f"{subtest._subDescription()} {last_line(err)}"[:400])


def flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from flatten(test)
        else:
            yield test


def chosen(tests, classes):
    """The tests of the classes a SPEC names (all, only these, or all but these)."""
    tests = list(flatten(tests))
    if not classes:
        return tests
    leave_out = classes.startswith("-")
    names = set(classes.lstrip("-").split(","))
    # Loader failures (_FailedTest) are kept whatever the filter: they must show.
    return [test for test in tests
            if type(test).__name__ == "_FailedTest"
            or (type(test).__name__ in names) != leave_out]


def run_spec(spec, result):
    name, _, classes = spec.partition(":")
    try:
        module = importlib.import_module(name)
    except BaseException:  # what the loader would report as a _FailedTest
        module = None
    test_main = getattr(module, "test_main", None)
    if test_main is None:
        suite = unittest.TestSuite(
            chosen(unittest.defaultTestLoader.loadTestsFromName(name), classes))
        emit("@yard-part", {"spec": spec, "tests": suite.countTestCases()})
        suite.run(result)
        return
    # An old-style module (test_decimal) builds its classes in test_main() and runs them
    # through support.run_unittest, as regrtest calls it; its suite runs into our result.
    def run_suite(suite):
        suite = unittest.TestSuite(chosen(suite, classes))
        emit("@yard-part", {"spec": spec, "tests": suite.countTestCases()})
        suite.run(result)
    support._run_suite = run_suite
    try:
        test_main()
    except BaseException:  # its doctests, run after the classes, fail as one
        result.report(f"{name}.test_main", "error", last_line(sys.exc_info()))


def main(argv):
    deadline = None
    if argv[:1] == ["--deadline"]:
        deadline = float(argv[1])
        argv = argv[2:]
    faulthandler.enable(all_threads=True)
    if deadline:
        faulthandler.dump_traceback_later(deadline, exit=True)
    # As regrtest without -u: no resource (network, cpu, largefile, ...) is assumed.
    support.verbose = 0
    support.use_resources = []
    support.record_original_stdout(sys.stdout)

    result = LineResult()
    for spec in argv:
        run_spec(spec, result)
    emit("@yard-end", result.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
