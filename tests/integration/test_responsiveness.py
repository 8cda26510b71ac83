"""Slow work of one daemon holds up no one else's runs.

The broker freezes each environment it builds (every entry of the venv handed to root and
made read-only) before it probes and lists it; for a large venv that takes seconds. Runs
started meanwhile must start and end, and the front must answer, as if no build were there.

What the test asserts is order, not time: a run submitted once the freeze has begun has
ended while the freeze is still going on, which the venv itself shows (entries of it are not
root's yet). Where the freeze held up the broker's bus, which every run's start goes
through, the run could only start after it.
"""

import concurrent.futures
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from api_client import describe
from sdists import write_sdist

BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", Path(__file__).resolve().parents[2] / "build")).resolve()
# The broker's --environments-dir.
ENVIRONMENTS_DIR = "/var/lib/pyrunner-environments"
BUILD_TIMEOUT_S = 300
# Generous: the build installs one small package, however large the tree it leaves.
FREEZE_START_DEADLINE_S = 240
LISTING_DEADLINE_S = 30
POLL_INTERVAL_S = 0.1

# The package's build backend leaves, beside the package, a tree in the venv that is quick
# to make and slow to freeze: the freeze calls lstat, lchown and chmod on every entry by its
# path, walked from the root, so files at the bottom of 900 nested directories take it
# thousands of lookups each, while the backend makes them relative to an open directory.
# (The freeze holds a directory open a level, within the broker's 1024 open files.)
BACKEND = r'''
import sys

DEPTH = 900
FILES = 40000

def deep_tree(venv):
    if not os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        raise RuntimeError(f"not run in the venv being built: {venv}")
    os.mkdir(os.path.join(venv, "deep"))
    fd = os.open(os.path.join(venv, "deep"), os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(DEPTH):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    for i in range(FILES):
        os.close(os.open(f"{i:x}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)
'''


def slow_freeze_package(tmp_path, into):
    """The sdist of `slowfreeze` in the directory `into`, with a requirements file naming it."""
    write_sdist(tmp_path, into, "slowfreeze", code=BACKEND, init_source="\"VALUE = 'frozen'\\n\"",
                before_build="deep_tree(sys.prefix)")
    requirements = into / "requirements.txt"
    requirements.write_text("slowfreeze==1.0\n")
    # Readable by the build's dynamic user.
    for path in [into, *into.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return requirements


def unfrozen_entry(machine, target):
    """An entry of the venv at `target` that the freeze has not handed to root yet, if any."""
    found = machine.run("find", target, "!", "-uid", "0", "-print", "-quit", check=False)
    return found.stdout.strip()


def wait_for_freeze_to_begin(machine, target, build):
    """Returns once the broker has moved the built venv to `target`, where it freezes it."""
    deadline = time.monotonic() + FREEZE_START_DEADLINE_S
    while machine.run("test", "-d", target, check=False).returncode != 0:
        if build.done():
            created = build.result()
            pytest.fail(f"the build ended before its venv was moved into place:\n{created.stdout}{created.stderr}")
        assert time.monotonic() < deadline, f"no {target} after {FREEZE_START_DEADLINE_S}s"
        time.sleep(POLL_INTERVAL_S)


def test_a_run_starts_and_ends_while_the_broker_freezes_a_large_environment(machine, server, tmp_path):
    name = f"large-{uuid.uuid4().hex[:8]}"
    wheels = BUILD / "test-wheels" / name
    requirements = slow_freeze_package(tmp_path, wheels)
    target = f"{ENVIRONMENTS_DIR}/{name}"

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        build = pool.submit(machine.run, str(BUILD / "pyrunnerd"), "env", "create", name,
                            "--requirements", str(requirements), "--find-links", str(wheels),
                            timeout_s=BUILD_TIMEOUT_S, check=False)
        wait_for_freeze_to_begin(machine, target, build)
        assert unfrozen_entry(machine, target), "the freeze was over before the run was sent: the tree is too small"

        health = server.get("/healthz")
        assert health.status_code == 200, describe(health)
        run = server.run("print('meanwhile')")
        assert (run["status"], run["stdout"]) == ("succeeded", "meanwhile\n"), (run["status"], run["error"])
        # The build's state once the run has ended: still freezing, so still not done.
        still_unfrozen = unfrozen_entry(machine, target)
        build_done = build.done()
        created = build.result()

    assert still_unfrozen and not build_done, (
        "the run ended only once the broker had frozen the environment "
        f"(an entry still not root's: {still_unfrozen!r}; build done: {build_done})"
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert not unfrozen_entry(machine, target)
    deadline = time.monotonic() + LISTING_DEADLINE_S
    while name not in {e["name"] for e in server.get("/environments").json()["environments"]}:
        assert time.monotonic() < deadline, f"{name} not listed {LISTING_DEADLINE_S}s after it was created"
        time.sleep(POLL_INTERVAL_S)
    inside = server.run("import slowfreeze; print(slowfreeze.VALUE)", environment=name)
    assert (inside["status"], inside["stdout"]) == ("succeeded", "frozen\n"), inside
