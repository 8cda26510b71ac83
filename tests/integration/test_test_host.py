"""The test host itself: the machine runs sandboxed transient units and enforces their limits.
Without this (test-host notes, fact 4) a limit test would fail and seem to blame pyrunner."""

import pytest

pytestmark = pytest.mark.vm

PYTHON = "/usr/bin/python3"
SANDBOX = ["-p", "DynamicUser=yes", "-p", "PrivateNetwork=yes", "-p", "ProtectSystem=strict", "-p", "PrivateTmp=yes"]


def run_unit(machine, *args):
    return machine.run("systemd-run", "--wait", "--pipe", "--quiet", *SANDBOX, *args, check=False)


def test_sandboxed_transient_unit_runs_python(machine):
    result = run_unit(machine, "-p", "MemoryMax=100M", PYTHON, "-c", "print(1)")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "1\n"


def test_memory_limit_is_enforced(machine):
    result = run_unit(machine, "-p", "MemoryMax=100M", "-p", "MemorySwapMax=0",
                      PYTHON, "-c", "b = bytearray(300 * 1024 * 1024); print('survived')")

    assert result.returncode != 0
    assert "survived" not in result.stdout
