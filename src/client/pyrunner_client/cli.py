"""`pyrunner`, the command: runs a script on a pyrunner server with its output live, and
reads, follows, cancels and fetches runs. Every request goes through pyrunner_client.Client."""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO, Callable, Sequence, TextIO

from .client import Client, DEFAULT_URL
from .errors import (
    ApiError,
    BadRequest,
    FileCheckFailed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PyrunnerError,
    ServerUnreachable,
    TooManyRequests,
    Unauthorized,
    UnsafePath,
)
from .models import Event, Run
from .paths import escape_controls
from .terminal import Display, format_bytes, format_duration, format_progress

# sysexits(3) where they fit, and the shell's conventions for signals and timeouts.
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_TIMED_OUT = 124
EXIT_OUT_OF_MEMORY = 125
EXIT_OUTPUT_LIMIT = 126
EXIT_CANCELLED = 130
EXIT_DATAERR = 65
EXIT_NOINPUT = 66
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_IOERR = 74
EXIT_NOPERM = 77

STATUS_EXIT_CODES = {
    "succeeded": EXIT_OK,
    "timed_out": EXIT_TIMED_OUT,
    "out_of_memory": EXIT_OUT_OF_MEMORY,
    "output_limit_exceeded": EXIT_OUTPUT_LIMIT,
    "cancelled": EXIT_CANCELLED,
    "error": EXIT_SOFTWARE,
}

EXIT_CODES_HELP = """\
exit status of `run` (and of `logs --follow`):
  0     the run succeeded (and `--detach`, or Ctrl-C answered "n": the run goes on)
  1-255 the run failed: the script's own exit code; 128+N if signal N killed it
  124   timed_out              125  out_of_memory
  126   output_limit_exceeded  130  cancelled (also Ctrl-C answered "y")
  70    error (the server could not run or follow it; it says why)
  65    the server refused the request as invalid (400, 413, 415)
  66    a local file cannot be read, or no such run (404)
  69    the server cannot be reached or is busy (429, 503)
  74    the run's files could not all be saved (replaces 0 only)
  77    no token, or the token was refused (401, 403)
  2     wrong usage
"""

INTERRUPT_HELP = """\
Ctrl-C while `run` streams: when stdin is a terminal it asks "Cancel run ID? [y/N]":
"y" (or a second Ctrl-C) cancels the run and exits 130; anything else (Enter, "n", end of
input) leaves the run going, prints how to follow it (`pyrunner logs --follow ID`) and
exits 0. When stdin is not a terminal, Ctrl-C cancels the run and exits 130.
"""

ENVIRONMENT_HELP = f"""\
environment:
  PYRUNNER_URL    the server (default {DEFAULT_URL}); --url overrides it
  PYRUNNER_TOKEN  the bearer token; --token overrides it
"""

# How often the progress line's clock moves while no event comes.
PROGRESS_TICK_S = 0.5


def exit_code_for(run: Run) -> int:
    """The exit status that stands for a finished run (EXIT_CODES_HELP)."""
    if run.status == "failed":
        if run.exit_code is not None:
            return run.exit_code if 0 < run.exit_code < 256 else 1
        number = signal_number(run.signal)
        return 128 + number if number is not None else 1
    return STATUS_EXIT_CODES.get(run.status, EXIT_SOFTWARE)


def signal_number(name: str | None) -> int | None:
    if not name:
        return None
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


def default_out_dir(run_id: str) -> str:
    return os.path.join("pyrunner-out", run_id)


class Fail(Exception):
    """Ends the command with a message and an exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def failure(error: PyrunnerError) -> Fail:
    """What an error of the module means for the command: a sentence and an exit status.
    The server's sentences are shown escaped: they may quote what a run wrote."""
    if isinstance(error, ApiError):
        message = escape_controls(error.message)
        if isinstance(error, TooManyRequests):
            after = f"; retry in {error.retry_after:g} s" if error.retry_after is not None else ""
            return Fail(f"the server is busy ({error.status}): {message}{after}", EXIT_UNAVAILABLE)
        if isinstance(error, (Unauthorized, Forbidden)):
            return Fail(f"the token was refused ({error.status}): {message} (set PYRUNNER_TOKEN or --token)",
                        EXIT_NOPERM)
        if isinstance(error, NotFound):
            return Fail(f"not found ({error.status}): {message}", EXIT_NOINPUT)
        if isinstance(error, (BadRequest, PayloadTooLarge)) or error.status in (405, 415):
            return Fail(f"the server refused the request ({error.status}): {message}", EXIT_DATAERR)
        return Fail(f"the server answered {error.status}: {message}", EXIT_UNAVAILABLE)
    if isinstance(error, ServerUnreachable):
        return Fail(escape_controls(str(error)) + " (is PYRUNNER_URL right?)", EXIT_UNAVAILABLE)
    if isinstance(error, (UnsafePath, FileCheckFailed)):
        return Fail(escape_controls(str(error)), EXIT_IOERR)
    return Fail(escape_controls(str(error)), EXIT_SOFTWARE)


# Parsing


def parse_limit(text: str) -> tuple[str, int]:
    name, equals, value = text.partition("=")
    if not equals or not name or not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not NAME=NUMBER: {text!r}")
    return name, int(value)


def add_connection_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    # On the subcommands too, so they may come after it; there they must not reset the
    # value given before it.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--url", default=default, help=f"the server (default: $PYRUNNER_URL, else {DEFAULT_URL})")
    parser.add_argument("--token", default=default, help="the bearer token (default: $PYRUNNER_TOKEN)")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pyrunner",
        description="Run Python scripts on a pyrunner server, with their output live.",
        epilog=EXIT_CODES_HELP + "\n" + INTERRUPT_HELP + "\n" + ENVIRONMENT_HELP,
        formatter_class=formatter,
    )
    add_connection_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        usage="pyrunner run [options] SCRIPT [-- ARG...]",
        help="run a script, its output live, its files saved",
        description="Submit SCRIPT, stream its stdout and stderr to ours as it runs, save the "
        "files it leaves in out/ to --out, and exit with the script's exit code (or the "
        "status's code below). A progress line (status, elapsed time, CPU, memory) is drawn "
        "on stderr when stderr is a terminal, never when it is piped. Arguments after -- "
        "are the script's (sys.argv[1:]).",
        epilog=EXIT_CODES_HELP + "\n" + INTERRUPT_HELP,
        formatter_class=formatter,
    )
    add_connection_options(run, suppress=True)
    run.add_argument("script", metavar="SCRIPT", nargs="?",
                     help="the local Python script to run (leave out with --entry)")
    run.add_argument("--file", dest="files", metavar="PATH", action="append", default=[],
                     help="a local file for the run: at the same path when PATH is relative "
                     "without '..', else under its name (repeatable)")
    run.add_argument("--archive", metavar="FILE", help="a .zip, .tar, .tar.gz or .tar.xz unpacked into the run's "
                     "working directory")
    run.add_argument("--entry", metavar="PATH", help="the script to run, a path among --file or in --archive")
    run.add_argument("--env", dest="environment", metavar="NAME", help="the Python environment (see `pyrunner envs`)")
    run.add_argument("--requirement", dest="requirements", metavar="SPEC", action="append", default=None,
                     help="a package the run needs, e.g. 'pandas>=1.5' (repeatable)")
    run.add_argument("--limit", dest="limits", metavar="NAME=VALUE", action="append", type=parse_limit,
                     default=None, help="a limit, e.g. wall_time_s=30 or memory_mb=512 (repeatable)")
    run.add_argument("--stdin", metavar="FILE", help="a file given to the script on standard input")
    run.add_argument("--out", metavar="DIR", help="where the run's files go (default: ./pyrunner-out/ID/)")
    run.add_argument("--detach", action="store_true", help="print the run's id and exit at once (0)")

    status = commands.add_parser("status", help="show a run", description="Show a run's status and figures.",
                                 formatter_class=formatter)
    add_connection_options(status, suppress=True)
    status.add_argument("id", metavar="ID")
    status.add_argument("--json", action="store_true", help="the Run object as the server sends it")

    logs = commands.add_parser(
        "logs", help="a run's output", formatter_class=formatter,
        description="Write a run's stdout and stderr to ours: what it has written so far, or "
        "with --follow everything as it comes until the run ends (then exit as `run` does).",
        epilog=EXIT_CODES_HELP,
    )
    add_connection_options(logs, suppress=True)
    logs.add_argument("id", metavar="ID")
    logs.add_argument("--follow", "-f", action="store_true", help="follow the run until it ends")

    cancel = commands.add_parser("cancel", help="cancel a run", description="Cancel a run (a finished one "
                                 "is left as it is) and show its status.", formatter_class=formatter)
    add_connection_options(cancel, suppress=True)
    cancel.add_argument("id", metavar="ID")

    files = commands.add_parser(
        "files", help="save a run's files", formatter_class=formatter,
        description="Save the files a run left in out/ under --out, each checked against the "
        "size and sha256 the run lists. A path that is absolute, has a '..' or control "
        "character, or would pass through a symlink is refused, never followed.",
    )
    add_connection_options(files, suppress=True)
    files.add_argument("id", metavar="ID")
    files.add_argument("--out", metavar="DIR", help="where they go (default: ./pyrunner-out/ID/)")

    envs = commands.add_parser("envs", help="list the environments", formatter_class=formatter,
                               description="List the Python environments runs can choose.")
    add_connection_options(envs, suppress=True)
    envs.add_argument("--json", action="store_true", help="the server's answer as it is")
    return parser


# Commands


class Io:
    """The command's standard streams, and whether each is a terminal."""

    def __init__(self, stdin: TextIO, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @staticmethod
    def standard() -> Io:
        return Io(sys.stdin, sys.stdout.buffer, sys.stderr.buffer)

    def is_terminal(self, stream: object) -> bool:
        fileno = getattr(stream, "fileno", None)
        if fileno is None:
            return False
        try:
            return os.isatty(fileno())
        except (OSError, ValueError):
            return False

    def say(self, text: str) -> None:
        self.stderr.write(f"pyrunner: {text}\n".encode("utf-8", "replace"))
        self.stderr.flush()

    def print(self, text: str) -> None:
        self.stdout.write(f"{text}\n".encode("utf-8", "replace"))
        self.stdout.flush()


def run_summary(run: Run) -> str:
    """How a run ended, in a few words, for stderr."""
    detail = run.status
    if run.exit_code is not None and run.status != "succeeded":
        detail += f", exit code {run.exit_code}"
    if run.signal:
        detail += f", signal {escape_controls(run.signal)}"
    if run.error:
        detail += f": {escape_controls(run.error)}"
    return f"run {escape_controls(run.id)} {detail}"


def save_files(client: Client, io: Io, display: Display | None, run: Run, out_dir: str) -> bool:
    """Saves the run's files, reporting each refusal; whether all were saved."""
    def say(text: str) -> None:
        if display is not None:
            display.message("pyrunner: " + text)
        else:
            io.say(text)

    saved = 0
    ok = True
    for info in run.files:
        try:
            client.download_file(run.id, info, out_dir)
            saved += 1
        except (UnsafePath, FileCheckFailed, NotFound) as error:
            say(f"not saved: {escape_controls(str(error))}")
            ok = False
        except OSError as error:
            say(f"not saved: {escape_controls(info.path)}: {error.strerror}")
            ok = False
    if saved:
        say(f"{saved} file{'s' if saved != 1 else ''} saved in {escape_controls(out_dir)}{os.sep}")
    if run.files_truncated:
        say("the run left more files than its files_count or files_bytes limit; the rest were not collected")
    for skipped in run.files_skipped:
        say(f"not collected by the server: {escape_controls(skipped.path)} ({escape_controls(skipped.reason)})")
    return ok


def read_local(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise Fail(f"cannot read {escape_controls(path)}: {error.strerror}", EXIT_NOINPUT) from None


def command_run(client: Client, io: Io, args: argparse.Namespace) -> int:
    if args.script is None and args.entry is None:
        raise Fail("give a SCRIPT, or --entry with --file or --archive", EXIT_USAGE)
    if args.entry is not None and args.files == [] and args.archive is None:
        raise Fail("--entry names a script among --file or in --archive; give one of them", EXIT_USAGE)
    # Read here, so a missing local file is a local error, before anything is sent.
    script = None
    if args.script is not None:
        read_local(args.script)
        script = Path(args.script)
    for path in args.files:
        read_local(path)
    if args.archive is not None:
        read_local(args.archive)
    stdin = read_local(args.stdin).decode("utf-8", "replace") if args.stdin is not None else None
    submitted = client.submit(
        script,
        files=args.files or None,
        archive=args.archive,
        entry=args.entry,
        environment=args.environment,
        requirements=args.requirements,
        limits=dict(args.limits) if args.limits else None,
        stdin=stdin,
        args=args.args or None,
    )
    if args.detach:
        io.print(submitted.id)
        return EXIT_OK
    out_dir = args.out or default_out_dir(submitted.id)
    return follow(client, io, submitted, out_dir=out_dir, interactive_cancel=True)


class _Watcher(threading.Thread):
    """Reads the run's events on a thread of its own, so the command's main thread stays free
    for the progress clock and for Ctrl-C."""

    def __init__(self, client: Client, run_id: str) -> None:
        super().__init__(name="pyrunner-events", daemon=True)
        self.client = client
        self.run_id = run_id
        self.events: queue.Queue[Event | BaseException] = queue.Queue()

    def run(self) -> None:
        try:
            for event in self.client.stream(self.run_id):
                self.events.put(event)
        except BaseException as error:  # handed to the main thread, which reports it
            self.events.put(error)


def follow(client: Client, io: Io, submitted: Run, out_dir: str | None, interactive_cancel: bool) -> int:
    """Streams the run to our stdout and stderr until it ends; saves its files to out_dir
    (when given) and returns the run's exit status."""
    progress = io.is_terminal(io.stderr)
    display = Display(io.stdout, io.stderr, progress, io.is_terminal(io.stdout))
    width = shutil.get_terminal_size().columns if progress else 0
    watcher = _Watcher(client, submitted.id)
    watcher.start()
    current = submitted
    since = time.monotonic()
    try:
        while True:
            display.show(format_progress(current.id, current.status, time.monotonic() - since,
                                         current.cpu_time_ms, current.memory_peak_bytes, width))
            try:
                item = watcher.events.get(timeout=PROGRESS_TICK_S if progress else None)
            except queue.Empty:
                continue
            if isinstance(item, PyrunnerError):
                display.close()
                raise failure(item)
            if isinstance(item, BaseException):
                display.close()
                raise item
            if item.type in ("stdout", "stderr"):
                display.output(item.type, item.data)
            elif item.run is not None:
                if item.run.status != current.status and item.run.status == "running":
                    since = time.monotonic()
                current = item.run
                if item.type == "end":
                    break
    except KeyboardInterrupt:
        display.close()
        if not interactive_cancel:
            return EXIT_CANCELLED
        return interrupted(client, io, display, current.id)
    display.close()
    code = exit_code_for(current)
    if current.status != "succeeded":
        display.message("pyrunner: " + run_summary(current))
    if out_dir is not None and current.files:
        if not save_files(client, io, display, current, out_dir) and code == EXIT_OK:
            code = EXIT_IOERR
    return code


def interrupted(client: Client, io: Io, display: Display, run_id: str) -> int:
    """Ctrl-C while a run streams (INTERRUPT_HELP)."""
    shown = escape_controls(run_id)
    cancel = True
    if io.is_terminal(io.stdin):
        display.end_line()
        io.stderr.write(f"Cancel run {shown}? [y/N] ".encode())
        io.stderr.flush()
        try:
            answer = io.stdin.readline()
            cancel = answer.strip().lower() in ("y", "yes")
        except KeyboardInterrupt:
            io.stderr.write(b"\n")
    if not cancel:
        io.say(f"run {shown} goes on; follow it with: pyrunner logs --follow {shown}")
        return EXIT_OK
    try:
        client.cancel(run_id)
    except PyrunnerError as error:
        raise failure(error) from None
    io.say(f"run {shown} cancelled")
    return EXIT_CANCELLED


def command_status(client: Client, io: Io, args: argparse.Namespace) -> int:
    run = client.get(args.id)
    if args.json:
        io.print(json.dumps(run.raw, indent=2, sort_keys=True))
        return EXIT_OK
    rows = [("id", run.id), ("status", run.status)]
    if run.exit_code is not None:
        rows.append(("exit code", str(run.exit_code)))
    if run.signal:
        rows.append(("signal", run.signal))
    if run.error:
        rows.append(("error", run.error))
    if run.environment:
        rows.append(("environment", run.environment))
    if run.duration_ms is not None:
        rows.append(("duration", f"{run.duration_ms / 1000:.3f} s"))
    if run.cpu_time_ms is not None:
        rows.append(("cpu time", f"{run.cpu_time_ms / 1000:.3f} s"))
    if run.memory_peak_bytes is not None:
        rows.append(("memory peak", format_bytes(run.memory_peak_bytes)))
    for name, value in (("created", run.created_at), ("started", run.started_at), ("finished", run.finished_at)):
        if value:
            rows.append((name, value))
    for info in run.files:
        rows.append(("file", f"{info.path} ({format_bytes(info.size)}, {info.media_type})"))
    for row_name, value in rows:
        io.print(f"{row_name + ':':<13}{escape_controls(value)}")
    return EXIT_OK


def command_logs(client: Client, io: Io, args: argparse.Namespace) -> int:
    if args.follow:
        return follow(client, io, client.get(args.id), out_dir=None, interactive_cancel=False)
    io.stdout.write(client.stdout(args.id))
    io.stdout.flush()
    io.stderr.write(client.stderr(args.id))
    io.stderr.flush()
    return EXIT_OK


def command_cancel(client: Client, io: Io, args: argparse.Namespace) -> int:
    run = client.cancel(args.id)
    io.print(f"{escape_controls(run.id)} {escape_controls(run.status)}")
    return EXIT_OK


def command_files(client: Client, io: Io, args: argparse.Namespace) -> int:
    run = client.get(args.id)
    out_dir = args.out or default_out_dir(run.id)
    if not run.files:
        io.say(f"run {escape_controls(run.id)} has no files" + ("" if run.finished else f" yet ({run.status})"))
        return EXIT_OK
    return EXIT_OK if save_files(client, io, None, run, out_dir) else EXIT_IOERR


def command_envs(client: Client, io: Io, args: argparse.Namespace) -> int:
    environments = client.environments()
    if args.json:
        io.print(json.dumps({"environments": [
            {"name": e.name, "kind": e.kind, "python_version": e.python_version,
             "packages": [{"name": p.name, "version": p.version} for p in e.packages]}
            for e in environments]}, indent=2))
        return EXIT_OK
    for environment in environments:
        io.print(f"{escape_controls(environment.name):<40} {escape_controls(environment.kind):<12} "
                 f"python {escape_controls(environment.python_version):<8} {len(environment.packages)} packages")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Client, Io, argparse.Namespace], int]] = {
    "run": command_run,
    "status": command_status,
    "logs": command_logs,
    "cancel": command_cancel,
    "files": command_files,
    "envs": command_envs,
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; what follows `--` is the script's arguments (`run` only)."""
    parser = build_parser()
    words = list(argv)
    script_args: list[str] = []
    if "--" in words:
        split = words.index("--")
        words, script_args = words[:split], words[split + 1 :]
    args = parser.parse_args(words)
    if script_args and args.command != "run":
        parser.error("only `run` takes arguments after --")
    args.args = script_args
    return args


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """The command; returns its exit status."""
    args = parse(sys.argv[1:] if argv is None else argv)
    io = io or Io.standard()
    try:
        client = Client(args.url, args.token)
    except ValueError as error:
        io.say(escape_controls(str(error)))
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](client, io, args)
    except Fail as ended:
        io.say(str(ended))
        return ended.code
    except PyrunnerError as error:
        mapped = failure(error)
        io.say(str(mapped))
        return mapped.code
    except KeyboardInterrupt:
        return EXIT_CANCELLED
