"""The `pyrunner` command with its output piped, against a real server: live output to its
own stdout and stderr, files saved, exit codes per status, the other subcommands, and Ctrl-C
without a terminal (docs/client.md)."""

import json
import os
import signal
import subprocess

import pytest

from api_client import Client as ApiClient
from client_module import COMMAND, command_env

TIMEOUT_S = 120


def pyrunner(server, *args, cwd=None, **env):
    return subprocess.run([*COMMAND, *args], cwd=cwd, env=command_env(server, **env), capture_output=True,
                          timeout=TIMEOUT_S, check=False)


def script(tmp_path, code, name="script.py"):
    (tmp_path / name).write_text(code)
    return name


def test_run_streams_output_saves_files_and_exits_zero(server, tmp_path):
    (tmp_path / "data.csv").write_text("region,sales\nnorth,10\nsouth,32\n")
    name = script(tmp_path, "import csv, sys\nrows = list(csv.DictReader(open('data.csv')))\n"
                            "print(sum(int(r['sales']) for r in rows))\nprint('to stderr', file=sys.stderr)\n"
                            "open('out/summary.txt', 'w').write('42\\n')\n")

    done = pyrunner(server, "run", name, "--file", "data.csv", cwd=tmp_path)

    assert done.returncode == 0, done
    assert done.stdout == b"42\n"
    # Piped: the run's stderr and a line about the files, no progress display.
    assert done.stderr.startswith(b"to stderr\n") and b"\x1b" not in done.stderr and b"\r" not in done.stderr, done
    runs = os.listdir(tmp_path / "pyrunner-out")
    assert len(runs) == 1
    assert (tmp_path / "pyrunner-out" / runs[0] / "summary.txt").read_text() == "42\n"


@pytest.mark.parametrize(
    "code, expected",
    [
        ("import sys; sys.exit(7)", 7),
        ("import os; os.kill(os.getpid(), 9)", 128 + 9),
        ("raise SystemExit('bye')", 1),
    ],
)
def test_a_failed_run_exits_with_the_scripts_code(server, tmp_path, code, expected):
    done = pyrunner(server, "run", script(tmp_path, code), cwd=tmp_path)
    assert done.returncode == expected, done
    assert b"failed" in done.stderr


def test_statuses_have_their_documented_exit_codes(server, tmp_path):
    timed_out = pyrunner(server, "run", script(tmp_path, "while True: pass"), "--limit", "wall_time_s=1",
                         cwd=tmp_path)
    assert timed_out.returncode == 124, timed_out
    oom = pyrunner(server, "run", script(tmp_path, "a = []\nwhile True: a.append(bytearray(1 << 20))"),
                   "--limit", "memory_mb=32", cwd=tmp_path)
    assert oom.returncode == 125, oom


def test_detach_then_status_logs_cancel_and_files(server, tmp_path):
    name = script(tmp_path, "print('one')\nopen('out/r.txt', 'w').write('r')\n")
    detached = pyrunner(server, "run", name, "--detach", cwd=tmp_path)
    assert detached.returncode == 0, detached
    run_id = detached.stdout.decode().strip()

    followed = pyrunner(server, "logs", "--follow", run_id, cwd=tmp_path)
    assert (followed.returncode, followed.stdout) == (0, b"one\n"), followed
    logs = pyrunner(server, "logs", run_id)
    assert logs.stdout == b"one\n"
    status = pyrunner(server, "status", "--json", run_id)
    assert json.loads(status.stdout)["status"] == "succeeded"
    assert b"succeeded" in pyrunner(server, "status", run_id).stdout
    files = pyrunner(server, "files", run_id, "--out", str(tmp_path / "got"))
    assert files.returncode == 0 and (tmp_path / "got" / "r.txt").read_text() == "r", files

    long_id = pyrunner(server, "run", script(tmp_path, "import time\ntime.sleep(60)"), "--detach",
                       cwd=tmp_path).stdout.decode().strip()
    cancelled = pyrunner(server, "cancel", long_id)
    assert cancelled.returncode == 0 and b"cancelled" in cancelled.stdout, cancelled

    envs = pyrunner(server, "envs")
    assert envs.returncode == 0 and b"default" in envs.stdout and b"datascience" in envs.stdout, envs


def test_refusals_have_their_exit_codes_and_escaped_sentences(server, tmp_path):
    name = script(tmp_path, "print(1)")
    assert pyrunner(server, "run", name, cwd=tmp_path, PYRUNNER_TOKEN="pyr_" + "A" * 43).returncode == 77
    assert pyrunner(server, "run", name, "--url", "http://127.0.0.1:9", cwd=tmp_path).returncode == 69
    assert pyrunner(server, "run", "missing.py", cwd=tmp_path).returncode == 66
    assert pyrunner(server, "run", name, "--limit", "wall_time_s=100000", cwd=tmp_path).returncode == 65
    assert pyrunner(server, "status", "0" * 32).returncode == 66
    assert pyrunner(server, "run").returncode == 2
    # The server's sentence names what the request asked for; it comes back without controls.
    bad_env = pyrunner(server, "run", name, "--env", "no\x1b[2Jsuch", cwd=tmp_path)
    assert bad_env.returncode == 65 and b"\x1b" not in bad_env.stderr, bad_env


def test_ctrl_c_without_a_terminal_cancels_the_run(server, tmp_path):
    name = script(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    process = subprocess.Popen([*COMMAND, "run", name], cwd=tmp_path, env=command_env(server),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline() == b"started\n"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
    assert process.returncode == 130, (stdout, stderr)
    run_id = stderr.decode().split("run ")[1].split()[0]
    assert ApiClient(server.base_url, server.token).get_run(run_id)["status"] == "cancelled"


def test_the_readmes_example(server, tmp_path):
    (tmp_path / "data.csv").write_text("region,sales\nnorth,10\nsouth,32\n")
    (tmp_path / "report.py").write_text(
        'import pandas as pd\nsales = pd.read_csv("data.csv")\nprint(sales.groupby("region")["sales"].sum())\n'
        'sales.describe().to_csv("out/summary.csv")\n')

    done = pyrunner(server, "run", "report.py", "--file", "data.csv", "--env", "datascience", cwd=tmp_path)

    assert done.returncode == 0, done
    assert done.stdout.split(b"\n")[:3] == [b"region", b"north    10", b"south    32"], done
    (run_id,) = os.listdir(tmp_path / "pyrunner-out")
    assert (tmp_path / "pyrunner-out" / run_id / "summary.csv").read_text().startswith(",sales\ncount,2.0")
    assert done.stderr == f"pyrunner: 1 file saved in pyrunner-out/{run_id}/\n".encode(), done
