"""`pyrunner run` on a real terminal: a tmux session of its own runs the command against the
test server, and the tests read the screen (`tmux capture-pane`) as a user would see it: the
run's lines as they are written, the progress line and its clock, the exit status, and
Ctrl-C's question answered both ways (docs/client.md)."""

import itertools
import os
import re
import shlex
import subprocess
import time

import pytest

from api_client import Client as ApiClient
from client_module import COMMAND, command_env

# Waits on what the screen shows, each bounded by this.
DEADLINE_S = 60
PROGRESS = re.compile(r"pyrunner [0-9a-f]{8} \| running \| (\d+)s")
# A tmux server's socket path must fit a socket address (108 bytes).
SESSIONS = itertools.count()
PROMPT = re.compile(r"Cancel run ([0-9a-f]{32})\? \[y/N\]")


class Terminal:
    """A detached tmux session on a private tmux server, 120 columns wide."""

    def __init__(self):
        self.socket = f"pyrunner-test-{os.getpid()}-{next(SESSIONS)}"

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout

    def start(self, command, cwd, env):
        # The shell prints the command's exit status and keeps the pane open to be read.
        line = f"{shlex.join(command)}; echo \"exit status $?\"; sleep 3600"
        settings = [arg for key, value in env.items() if key.startswith(("PYRUNNER_", "PYTHON"))
                    for arg in ("-e", f"{key}={value}")]
        self.tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "-c", str(cwd), *settings,
                  "bash", "--norc", "-c", line)

    def screen(self):
        # -J: a line the terminal wrapped comes back whole.
        return self.tmux("capture-pane", "-p", "-J", "-t", "t")

    def wait_for(self, condition, what):
        """The screen once condition(screen) holds; fails with the screen past the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            shown = self.screen()
            if condition(shown):
                return shown
            assert time.monotonic() < deadline, f"no {what} on the screen after {DEADLINE_S}s:\n{shown}"
            time.sleep(0.05)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def terminal():
    opened = Terminal()
    yield opened
    opened.close()


def run_in(terminal, server, tmp_path, code):
    (tmp_path / "script.py").write_text(code)
    terminal.start([*COMMAND, "run", "script.py"], tmp_path, command_env(server))


def test_lines_appear_as_written_under_a_moving_progress_line_cleared_at_the_end(server, terminal, tmp_path):
    run_in(terminal, server, tmp_path,
           "import time\nprint('first line', flush=True)\ntime.sleep(3)\nprint('second line', flush=True)\n")

    shown = terminal.wait_for(lambda s: "first line" in s, "first line")
    assert "second line" not in shown, shown
    first = terminal.wait_for(PROGRESS.search, "progress line")
    elapsed = int(PROGRESS.search(first).group(1))
    terminal.wait_for(lambda s: (m := PROGRESS.search(s)) is not None and int(m.group(1)) > elapsed,
                      "progress line whose clock moved")

    final = terminal.wait_for(lambda s: "exit status" in s, "exit status")
    lines = [line for line in final.splitlines() if line.strip()]
    assert lines == ["first line", "second line", "exit status 0"], final


def test_the_exit_status_is_the_scripts(server, terminal, tmp_path):
    run_in(terminal, server, tmp_path, "print('bye')\nraise SystemExit(9)\n")

    final = terminal.wait_for(lambda s: "exit status" in s, "exit status")
    assert "exit status 9" in final and "| running |" not in final, final


SLOW = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"


def interrupt(terminal):
    terminal.wait_for(lambda s: "started" in s, "the run's first line")
    terminal.keys("C-c")
    shown = terminal.wait_for(PROMPT.search, "question")
    return PROMPT.search(shown).group(1)


def test_ctrl_c_answered_y_cancels_the_run(server, terminal, tmp_path):
    run_in(terminal, server, tmp_path, SLOW)
    run_id = interrupt(terminal)

    terminal.keys("y", "Enter")

    final = terminal.wait_for(lambda s: "exit status" in s, "exit status")
    assert "exit status 130" in final and f"run {run_id} cancelled" in final, final
    assert ApiClient(server.base_url, server.token).get_run(run_id)["status"] == "cancelled"


def test_ctrl_c_answered_n_detaches_and_the_run_goes_on(server, terminal, tmp_path):
    run_in(terminal, server, tmp_path, SLOW)
    run_id = interrupt(terminal)

    terminal.keys("n", "Enter")

    final = terminal.wait_for(lambda s: "exit status" in s, "exit status")
    assert "exit status 0" in final and f"pyrunner logs --follow {run_id}" in final, final
    api = ApiClient(server.base_url, server.token)
    assert api.get_run(run_id)["status"] == "running"
    api.delete(f"/runs/{run_id}")
