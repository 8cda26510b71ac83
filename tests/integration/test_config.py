"""The configuration file: its limits reach the API, flags override its keys, and
`pyrunnerd --check-config` names the file, the line and the fault."""

import os
import secrets
from pathlib import Path

from deployment import FRONT_USER

# As the harness finds it (tests/integration/conftest.py).
BUILD = Path(os.environ.get("PYRUNNER_BUILD_DIR", Path(__file__).resolve().parents[2] / "build")).resolve()


def write_config(machine, text):
    path = f"/run/pyrunner-test-{secrets.token_hex(8)}.toml"
    machine.run("sh", "-c", f"umask 022 && printf '%s' \"$1\" > {path}", "sh", text)
    return path


def check_config(machine, path):
    return machine.run("setpriv", f"--reuid={FRONT_USER}", f"--regid={FRONT_USER}",
                       "--clear-groups", "--", str(BUILD / "pyrunnerd"), "--check-config",
                       "--config", path, check=False)


def test_the_files_limits_and_queue_reach_the_api_and_flags_win(machine, server_factory):
    path = write_config(machine, "[runs]\nmax_queued = 3\nwarm_pool = 0\n"
                                 "[limits.default]\nmemory_mb = 64\n"
                                 "[limits.max]\nmemory_mb = 128\n")
    # The harness passes --max-queued 16, which overrides the file's 3.
    server = server_factory(max_queued=16, extra_args=("--config", path))
    machine.run("rm", "-f", path)
    assert server.get("/healthz").json()["max_queued"] == 16
    run = server.post("/run-json/", json={"code": "print(1)"}).json()
    assert run["status"] == "succeeded", run
    assert run["limits"]["memory_mb"] == 64
    refused = server.post("/run-json/", json={"code": "print(1)", "limits": {"memory_mb": 200}})
    assert refused.status_code == 400
    assert "128" in refused.json()["error"]


def test_check_config_accepts_a_valid_file(machine):
    path = write_config(machine, "[server]\nlisten = \"127.0.0.1:9999\"\n")
    result = check_config(machine, path)
    machine.run("rm", "-f", path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: valid" in result.stdout


def test_check_config_names_the_file_line_and_fault(machine):
    path = write_config(machine, "[runs]\n\nmax_runing = 4\n")
    result = check_config(machine, path)
    machine.run("rm", "-f", path)
    assert result.returncode == 1
    assert f"{path}:3: unknown key runs.max_runing in [runs]" in result.stderr


def test_an_explicit_file_that_is_missing_is_an_error(machine):
    result = check_config(machine, "/run/no-such-pyrunner.toml")
    assert result.returncode == 1
    assert "/run/no-such-pyrunner.toml: cannot be read" in result.stderr
