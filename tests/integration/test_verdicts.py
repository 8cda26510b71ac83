"""Each verdict a run can end with, caused for real against systemd's limits."""

import pytest

from api_client import assert_run_object

pytestmark = pytest.mark.vm

RAISES = 'def inner():\n    raise ValueError("boom")\n\ninner()\n'
SLEEPER = "import time\ntime.sleep(30)\n"
BUSY_LOOP = "while True:\n    pass\n"
# 1 MiB at a time, each written (bytearray zero-fills), so the pages are really used.
MEMORY_HOG = "chunks = []\nfor _ in range(300):\n    chunks.append(bytearray(1024 * 1024))\nprint('survived')\n"


def test_raising_script_fails_with_traceback_in_stderr(server):
    run = server.run(RAISES)

    assert_run_object(run)
    assert run["status"] == "failed", run
    assert run["exit_code"] == 1
    assert run["signal"] is None
    assert "Traceback (most recent call last)" in run["stderr"]
    assert "ValueError: boom" in run["stderr"]
    assert run["stdout"] == ""


def test_exit_status_is_passed_through(server):
    run = server.run("import sys\nprint('partial')\nsys.exit(3)\n")

    assert run["status"] == "failed", run
    assert run["exit_code"] == 3
    assert run["stdout"] == "partial\n"


def test_sleeper_times_out_at_the_wall_limit(server):
    run = server.run(SLEEPER, limits={"wall_time_s": 2})

    assert_run_object(run)
    assert run["status"] == "timed_out", run
    assert run["exit_code"] is None or run["exit_code"] != 0
    assert 1500 <= run["duration_ms"] < 10000, run["duration_ms"]


def test_busy_loop_times_out_at_the_cpu_limit_before_the_wall_limit(server):
    run = server.run(BUSY_LOOP, limits={"cpu_time_s": 1, "wall_time_s": 10})

    assert_run_object(run)
    assert run["status"] == "timed_out", run
    # Ended by the CPU limit: well before the 10 s wall limit, after about 1 s of CPU.
    assert run["duration_ms"] < 8000, run["duration_ms"]
    assert run["cpu_time_ms"] >= 500, run["cpu_time_ms"]


def test_busy_loop_with_two_second_wall_limit_times_out_within_four_seconds(server):
    run = server.run(BUSY_LOOP, limits={"wall_time_s": 2})

    assert run["status"] == "timed_out", run
    # The run's own measurement, not this client's clock: timings of the test host vary.
    assert run["duration_ms"] < 4000, run["duration_ms"]


def test_300_mb_allocation_under_100_mb_limit_is_out_of_memory(server):
    run = server.run(MEMORY_HOG, limits={"memory_mb": 100})

    assert_run_object(run)
    assert run["status"] == "out_of_memory", run
    assert "survived" not in run["stdout"]
    assert run["exit_code"] != 0


def test_output_flood_keeps_exactly_output_bytes(server):
    run = server.run('print("x" * 10**7)\n', limits={"output_bytes": 1000})

    assert_run_object(run)
    assert run["status"] == "output_limit_exceeded", run
    assert run["stdout_truncated"] is True
    assert run["stdout"] == "x" * 1000
    raw = server.get(f"/runs/{run['id']}/stdout")
    assert raw.status_code == 200
    assert raw.content == b"x" * 1000


def test_output_within_limit_is_not_truncated(server):
    run = server.run('print("x" * 999)\n', limits={"output_bytes": 1000})

    assert run["status"] == "succeeded", run
    assert run["stdout"] == "x" * 999 + "\n"
    assert run["stdout_truncated"] is False
