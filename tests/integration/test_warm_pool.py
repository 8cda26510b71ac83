"""The warm pool: a run handed to a pre-started unit gets the same Run object as on the cold
path, sees nothing of any run before it, and the pool refills; a pool of 0 runs cold. The
datascience environment has a pool of its own when the server is given one."""

import re
import time
import uuid

import pytest

from deployment import BROKER_UNIT
from test_environments import create_operator_environment

# Every verdict, and what differs between the paths in how Python starts and ends.
SCRIPTS = {
    "hello": ("print('hello')", {}),
    "argv-stdin-name": (
        "import sys\nprint(sys.argv[1:], input(), __name__, __file__ == sys.argv[0])\n", {}),
    "traceback": ("def f():\n    return 1 / 0\nprint(f())\n", {}),
    "exit-code": ("import sys\nsys.stderr.write('bye')\nsys.exit(7)\n", {}),
    "out-of-memory": ("b = bytearray(400 * 1024 * 1024)\nprint('survived')\n", {"memory_mb": 64}),
    "wall-time": ("import time\ntime.sleep(30)\n", {"wall_time_s": 1}),
    "cpu-time": ("while True:\n    pass\n", {"cpu_time_s": 1, "wall_time_s": 5}),
    # It waits once past the cap, so that the broker's kill, not its own exit, ends it on
    # both paths (a script that ends first keeps its exit code: docs/api.md).
    "output-limit": ("import time\nprint('x' * 5000, flush=True)\ntime.sleep(20)\n",
                     {"output_bytes": 1000, "wall_time_s": 30}),
    "output-flood": ("import sys\nwhile True:\n    sys.stdout.write('z' * 65536)\n",
                     {"output_bytes": 1000, "wall_time_s": 30}),
    "identity-and-space": (
        "import getpass, os, pathlib, pwd\n"
        "me = pwd.getpwuid(os.getuid())\n"
        "open('/tmp/f', 'wb').write(b'x' * 2_000_000)\n"
        "home = pathlib.Path.home()\n"
        "print(me.pw_name == getpass.getuser(), me.pw_dir == str(home),\n"
        "      os.access(home, os.W_OK), os.path.getsize('/tmp/f'))\n",
        {"output_bytes": 1000}),
    # The default space (a warm unit's), below the memory, which also holds it.
    "space-full": ("open('/tmp/big', 'wb').write(b'x' * (600 * 1024 * 1024))\n",
                   {"memory_mb": 1024}),
}
COMPARED = ("status", "exit_code", "signal", "stdout", "stderr", "stdout_truncated", "stderr_truncated")


def comparable(run):
    # Unit names differ by run id, in tracebacks too.
    return {key: re.sub(r"[0-9a-f]{32}", "ID", run[key]) if isinstance(run[key], str) else run[key]
            for key in COMPARED}


def was_warm(machine, run_id):
    return f"pyrunner warm run {run_id}" in machine.journal("-u", f"pyrunner-{run_id}.service")


def warm_run(server, machine, code, **fields):
    """A run that took a warm unit: the pool is given a moment to be full again first."""
    for _ in range(3):
        run = server.run(code, **fields)
        if was_warm(machine, run["id"]):
            return run
        time.sleep(1)
    pytest.fail(f"three runs in a row took no warm unit: {run}")


def warm_units(machine):
    units = machine.run("systemctl", "list-units", "--plain", "--no-legend", "pyrunner-*").stdout
    return {line.split()[0] for line in units.splitlines() if "warm run" in line}


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_warm_run_matches_a_cold_one(warm_and_cold, machine, name):
    warm, cold = warm_and_cold
    code, limits = SCRIPTS[name]
    fields = {"stdin": "typed\n", "args": ["a b", "$HOME"], "limits": limits}

    hot = warm_run(warm, machine, code, **fields)
    slow = cold.run(code, **fields)

    assert not was_warm(machine, slow["id"])
    assert comparable(hot) == comparable(slow)


# The children of multiprocessing's spawn (and forkserver) start method run the script
# again from __main__.__file__: it must be there, with the run's code, warm or cold.
SPAWNING = """import multiprocessing
def square(x):
    return x * x
if __name__ == '__main__':
    print(open(__file__).read().count('square'))
    with multiprocessing.get_context('spawn').Pool(2) as pool:
        print(pool.map(square, range(5)))
"""


def test_a_warm_run_can_spawn_processes_that_run_its_script_again(warm_and_cold, machine):
    warm, cold = warm_and_cold
    limits = {"wall_time_s": 20}
    for run in (warm_run(warm, machine, SPAWNING, limits=limits), cold.run(SPAWNING, limits=limits)):
        assert (run["status"], run["stdout"]) == ("succeeded", "3\n[0, 1, 4, 9, 16]\n"), run


def test_a_warm_run_sees_nothing_of_the_run_before(warm_and_cold, machine):
    warm, _ = warm_and_cold
    trail = (
        "import os, json, sys\n"
        "open('/tmp/trail', 'w').write('left')\n"
        "open('/dev/shm/trail', 'w').write('left')\n"
        "os.environ['TRAIL'] = 'left'\n"
        "json.TRAIL = 'left'\n"
        "sys.modules['trail'] = json\n"
        "print('left')\n"
    )
    look = (
        "import os, json, sys\n"
        "print(sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')),\n"
        "      'TRAIL' in os.environ, hasattr(json, 'TRAIL'), 'trail' in sys.modules)\n"
    )

    assert warm_run(warm, machine, trail)["stdout"] == "left\n"
    seen = warm_run(warm, machine, look)

    # Only the empty out/ every run starts with.
    assert seen["stdout"] == "['out'] [] False False False\n", seen


def test_the_pool_refills(warm_and_cold, machine):
    warm, _ = warm_and_cold
    taken = [warm_run(warm, machine, "print(1)")["id"] for _ in range(3)]

    deadline = time.monotonic() + 15
    while True:
        units = warm_units(machine)
        waiting = [unit for unit in units if not any(t in unit for t in taken)]
        if len(waiting) >= 2:
            break
        assert time.monotonic() < deadline, f"the pool did not refill: {sorted(units)}"
        time.sleep(0.5)


def test_a_warm_run_counts_only_its_own_cpu_time(warm_and_cold, machine):
    warm, _ = warm_and_cold

    run = warm_run(warm, machine, "print(1)")

    # The unit's start (its reaper, the interpreter's and the common imports') is not the run's.
    assert run["status"] == "succeeded", run
    assert run["cpu_time_ms"] < 20, run


def test_a_busy_warm_run_counts_all_of_its_cpu_time(warm_and_cold, machine):
    warm, _ = warm_and_cold
    busy = (
        "import time\n"
        "start = time.process_time()\n"
        "while time.process_time() - start < 0.3:\n"
        "    pass\n"
    )

    run = warm_run(warm, machine, busy)

    assert run["status"] == "succeeded", run
    assert run["cpu_time_ms"] >= 300, run


@pytest.mark.parametrize("signal", ["SIGTERM", "SIGKILL"])
def test_a_server_that_goes_takes_its_warm_units_with_it(server_factory, machine, signal):
    before = warm_units(machine)
    server = server_factory(max_running=2, extra_args=("--warm-pool", "2"))
    deadline = time.monotonic() + 15
    while len(warm_units(machine) - before) < 2:
        assert time.monotonic() < deadline, "the pool did not fill"
        time.sleep(0.5)
    its_own = warm_units(machine) - before

    machine.run("systemctl", "kill", f"--signal={signal}", server.unit, check=False)
    machine.run("systemctl", "stop", server.unit, check=False)

    run_dirs = [f"{server.state_dir}/runs/{unit.removeprefix('pyrunner-').removesuffix('.service')}"
                for unit in its_own]

    def left_behind():
        return sorted(its_own & warm_units(machine)) + [
            path for path in run_dirs if machine.run("test", "-e", path, check=False).returncode == 0]

    deadline = time.monotonic() + 15
    while left_behind():
        assert time.monotonic() < deadline, f"left behind: {left_behind()}"
        time.sleep(0.5)
    assert "warm_unit_abandoned" in machine.journal("-u", BROKER_UNIT, "-o", "cat",
                                                    "--output-fields=STATUS", "-n", "200")


def test_a_pool_of_zero_runs_cold(warm_and_cold, machine):
    _, cold = warm_and_cold
    run = cold.run("print('cold')")

    assert run["stdout"] == "cold\n"
    assert not was_warm(machine, run["id"])


def test_a_warm_datascience_run_matches_a_cold_one(science_warm_and_cold, machine):
    warm, cold = science_warm_and_cold
    code = "import pandas\nprint(pandas.__version__ != '')\n"

    hot = warm_run(warm, machine, code, environment="datascience")
    slow = cold.run(code, environment="datascience")

    assert not was_warm(machine, slow["id"])
    assert hot["stdout"] == "True\n", hot
    assert comparable(hot) == comparable(slow)
    assert hot["environment"] == slow["environment"] == "datascience"


def test_a_default_run_takes_a_default_unit(science_warm_and_cold, machine):
    warm, _ = science_warm_and_cold
    run = warm_run(warm, machine, "import sys\nprint('numpy' in sys.modules)")

    assert run["stdout"] == "False\n", run
    assert run["environment"] == "default"


def test_a_warm_datascience_run_sees_nothing_of_the_run_before(science_warm_and_cold, machine):
    warm, _ = science_warm_and_cold
    trail = (
        "import os, numpy, sys\n"
        "open('/tmp/trail', 'w').write('left')\n"
        "numpy.TRAIL = 'left'\n"
        "sys.modules['trail'] = numpy\n"
        "print('left')\n"
    )
    look = (
        "import os, numpy, sys\n"
        "print([n for n in os.listdir('/tmp') if n == 'trail'], hasattr(numpy, 'TRAIL'),\n"
        "      'trail' in sys.modules)\n"
    )

    assert warm_run(warm, machine, trail, environment="datascience")["stdout"] == "left\n"
    seen = warm_run(warm, machine, look, environment="datascience")

    assert seen["stdout"] == "[] False False\n", seen


def test_an_operator_environment_gets_its_warm_unit_once_it_is_built(server_factory, machine,
                                                                        tmp_path):
    name = f"warm-{uuid.uuid4().hex[:8]}"
    server = server_factory(extra_args=("--warm-pool", "0", "--warm-pool-for", f"{name}=1"))
    module, _, _ = create_operator_environment(machine, server, tmp_path, name, "1.0.0", 7)

    run = warm_run(server, machine, f"import {module}\nprint({module}.VALUE)", environment=name)

    assert (run["status"], run["stdout"], run["environment"]) == ("succeeded", "7\n", name), run
