"""The API's objects as typed values: the Run object, its files, stream events, environments
(docs/api.md, "The Run object")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

RUNNING_STATUSES = frozenset({"queued", "running"})
FINAL_STATUSES = frozenset(
    {"succeeded", "failed", "timed_out", "out_of_memory", "output_limit_exceeded", "cancelled", "error"}
)

EventType = Literal["status", "stdout", "stderr", "end"]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass(frozen=True)
class FileInfo:
    """A file the run left under `out/`: its path relative to `out/`, as the run named it."""

    path: str
    size: int
    sha256: str
    media_type: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileInfo:
        return cls(
            path=str(data.get("path", "")),
            size=_int(data.get("size")) or 0,
            sha256=str(data.get("sha256", "")),
            media_type=str(data.get("media_type", "application/octet-stream")),
        )


@dataclass(frozen=True)
class SkippedFile:
    """Something under `out/` that was not collected, and why (`symlink`, `fifo`, ...)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Run:
    """A run as the server describes it. Fields the server has not filled in yet (a queued
    run's exit code, a running run's duration) are None; `raw` is the whole object as sent."""

    id: str
    status: str
    exit_code: int | None = None
    signal: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_ms: float | None = None
    cpu_time_ms: float | None = None
    memory_peak_bytes: int | None = None
    unit: str | None = None
    environment: str | None = None
    tenant: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    files: tuple[FileInfo, ...] = ()
    files_truncated: bool = False
    files_skipped: tuple[SkippedFile, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        limits = data.get("limits")
        files = data.get("files")
        skipped = data.get("files_skipped")
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            exit_code=_int(data.get("exit_code")),
            signal=_str(data.get("signal")),
            stdout=_str(data.get("stdout")) or "",
            stderr=_str(data.get("stderr")) or "",
            stdout_truncated=data.get("stdout_truncated") is True,
            stderr_truncated=data.get("stderr_truncated") is True,
            duration_ms=_float(data.get("duration_ms")),
            cpu_time_ms=_float(data.get("cpu_time_ms")),
            memory_peak_bytes=_int(data.get("memory_peak_bytes")),
            unit=_str(data.get("unit")),
            environment=_str(data.get("environment")),
            tenant=_str(data.get("tenant")),
            limits={str(k): v for k, v in limits.items() if _int(v) is not None} if isinstance(limits, dict) else {},
            created_at=_str(data.get("created_at")),
            started_at=_str(data.get("started_at")),
            finished_at=_str(data.get("finished_at")),
            error=_str(data.get("error")),
            files=tuple(FileInfo.from_json(f) for f in files if isinstance(f, dict)) if isinstance(files, list) else (),
            files_truncated=data.get("files_truncated") is True,
            files_skipped=tuple(
                SkippedFile(str(s.get("path", "")), str(s.get("reason", ""))) for s in skipped if isinstance(s, dict)
            )
            if isinstance(skipped, list)
            else (),
            raw=dict(data),
        )

    @property
    def finished(self) -> bool:
        """Whether the run has its verdict."""
        return self.status in FINAL_STATUSES

    @property
    def duration(self) -> float | None:
        """The main process' lifetime in seconds, once the run has ended."""
        return None if self.duration_ms is None else self.duration_ms / 1000.0


@dataclass(frozen=True)
class Event:
    """One event of `GET /runs/{id}/events`.

    `status` and `end` carry `run` (a status event's has no stdout or stderr); `stdout` and
    `stderr` carry `data` and its `offset` in that stream. `id` is what a reconnecting
    client sends as `Last-Event-ID`."""

    type: EventType
    id: str | None
    run: Run | None = None
    offset: int | None = None
    data: str = ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str


@dataclass(frozen=True)
class Environment:
    """A Python environment runs can choose (`GET /environments`)."""

    name: str
    kind: str
    python_version: str
    packages: tuple[Package, ...]
    requirements: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Environment:
        packages = data.get("packages")
        requirements = data.get("requirements")
        return cls(
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "")),
            python_version=str(data.get("python_version", "")),
            packages=tuple(
                Package(str(p.get("name", "")), str(p.get("version", ""))) for p in packages if isinstance(p, dict)
            )
            if isinstance(packages, list)
            else (),
            requirements=tuple(str(r) for r in requirements) if isinstance(requirements, list) else (),
        )
