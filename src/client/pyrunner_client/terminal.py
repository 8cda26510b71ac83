"""What `pyrunner` shows on a terminal: the one-line progress display and the run's output
written around it. Pure formatting apart from the writer that owns the terminal."""

from __future__ import annotations

from typing import BinaryIO

from .paths import escape_controls

CLEAR_LINE = "\r\x1b[2K"


def format_duration(seconds: float) -> str:
    """`7s`, `1m05s`, `2h03m`: whole seconds, as a progress display counts them."""
    whole = int(max(seconds, 0.0))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_progress(
    run_id: str, status: str, elapsed_s: float, cpu_time_ms: float | None, memory_bytes: int | None, width: int
) -> str:
    """The progress line: run, status, elapsed time, and CPU and memory when the server gave
    them; every server string escaped, and the whole cut to the terminal's width."""
    fields = [f"pyrunner {escape_controls(run_id[:8])}", escape_controls(status), format_duration(elapsed_s)]
    if cpu_time_ms is not None:
        fields.append(f"cpu {cpu_time_ms / 1000:.1f}s")
    if memory_bytes is not None:
        fields.append(f"mem {format_bytes(memory_bytes)}")
    line = " | ".join(fields)
    # Leaves the last column free: writing there makes some terminals wrap.
    return line[: max(width - 1, 0)]


class Display:
    """Owns the terminal while a run streams: the run's bytes go out as they come, and the
    progress line (only when `progress` is on, i.e. stderr is a terminal) is drawn below
    them, cleared before any output and redrawn after it. It is drawn only when the cursor is
    at the start of a line, so a line the run has half written is never broken."""

    def __init__(self, stdout: BinaryIO, stderr: BinaryIO, progress: bool, stdout_is_terminal: bool) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.progress = progress
        self.stdout_is_terminal = stdout_is_terminal
        self.line = ""
        self.drawn = False
        self.at_line_start = True

    def show(self, line: str) -> None:
        """Replaces the progress line with `line`."""
        self.line = line
        self._draw()

    def _draw(self) -> None:
        if not self.progress or not self.at_line_start or not self.line:
            return
        self.stderr.write((CLEAR_LINE + self.line).encode("utf-8", "replace"))
        self.stderr.flush()
        self.drawn = True

    def clear(self) -> None:
        """Takes the progress line off the screen, leaving the cursor where it began."""
        if self.drawn:
            self.stderr.write(CLEAR_LINE.encode())
            self.stderr.flush()
            self.drawn = False

    def output(self, stream: str, data: str) -> None:
        """Writes the run's own output, as it is, to our stdout or stderr."""
        if not data:
            return
        self.clear()
        target = self.stdout if stream == "stdout" else self.stderr
        target.write(data.encode("utf-8", "replace"))
        target.flush()
        if stream == "stderr" or self.stdout_is_terminal:
            self.at_line_start = data.endswith("\n")
        self._draw()

    def message(self, text: str) -> None:
        """A line of pyrunner's own on stderr, below the run's output."""
        self.clear()
        prefix = b"" if self.at_line_start else b"\n"
        self.stderr.write(prefix + text.encode("utf-8", "replace") + b"\n")
        self.stderr.flush()
        self.at_line_start = True

    def end_line(self) -> None:
        """Moves to the start of a line, past whatever the run left half written."""
        self.clear()
        if not self.at_line_start:
            self.stderr.write(b"\n")
            self.stderr.flush()
            self.at_line_start = True

    def close(self) -> None:
        """Clears the progress line for good."""
        self.clear()
        self.progress = False
