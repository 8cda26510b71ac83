"""Saving a run's files under a directory of the user's, when the run chose their names.

The names come from the code that ran, which may be hostile: a path is refused, never
cleaned up, unless it is plain (relative, no `.`, `..` or empty segment, no control
character), and the file is made without following any symlink: each directory is opened
relative to its parent's descriptor with O_NOFOLLOW, and the file is written under a fresh
name (O_CREAT|O_EXCL) and renamed into place once its size and sha256 are checked.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import BinaryIO, Iterable

from .errors import FileCheckFailed, UnsafePath

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
_CHUNK = 1 << 16


def is_control(char: str) -> bool:
    """C0 controls, DEL and C1 controls: what a terminal may take as a command."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def escape_controls(text: str) -> str:
    """`text` with every control character (newlines too) written as a visible escape, for
    showing a string from the server or a run on the user's terminal."""
    if not any(is_control(c) for c in text):
        return text
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif is_control(char):
            code = ord(char)
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}" if code < 0x100 else char))
        else:
            out.append(char)
    return "".join(out)


def check_run_path(path: str) -> list[str]:
    """The segments of a path from a run's file list; UnsafePath if it is not plain."""
    if not path:
        raise UnsafePath(path, "empty path")
    if path.startswith("/"):
        raise UnsafePath(path, "absolute path")
    if any(is_control(c) for c in path):
        raise UnsafePath(path, "control character in the path")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath(path, "not valid UTF-8") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise UnsafePath(path, f"longer than {MAX_PATH_BYTES} bytes")
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise UnsafePath(path, f"a {segment!r} segment" if segment else "an empty segment")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise UnsafePath(path, f"a segment longer than {MAX_SEGMENT_BYTES} bytes")
    return segments


def _open_directory(name: str, parent_fd: int) -> int:
    """Opens (making it if need be) the directory `name` under `parent_fd`, refusing a
    symlink in its place."""
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError as error:
        raise UnsafePath(name, f"not a directory one can enter without following a link ({error.strerror})") from None


def save_file(out_dir: str | os.PathLike[str], path: str, chunks: Iterable[bytes], size: int, sha256: str) -> str:
    """Writes `chunks` as `path` under `out_dir` (made if missing) and returns where it went.

    The bytes must add up to `size` and hash to `sha256`; otherwise nothing is left behind
    and FileCheckFailed is raised. An existing file of that name is replaced (the rename
    replaces a symlink itself, never what it points to)."""
    segments = check_run_path(path)
    os.makedirs(out_dir, exist_ok=True)
    fds = [os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
    try:
        for segment in segments[:-1]:
            fds.append(_open_directory(segment, fds[-1]))
        parent = fds[-1]
        temporary = f".pyrunner-partial-{secrets.token_hex(8)}"
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=parent
        )
        try:
            with open(fd, "wb", closefd=True) as out:
                _copy_checked(path, chunks, out, size, sha256)
            os.rename(temporary, segments[-1], src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            os.unlink(temporary, dir_fd=parent)
            raise
    finally:
        for opened in fds:
            os.close(opened)
    return os.path.join(os.fspath(out_dir), *segments)


def _copy_checked(path: str, chunks: Iterable[bytes], out: BinaryIO, size: int, sha256: str) -> None:
    digest = hashlib.sha256()
    written = 0
    for chunk in chunks:
        written += len(chunk)
        if written > size:
            raise FileCheckFailed(path, f"more than the {size} bytes the run's file list gives")
        digest.update(chunk)
        out.write(chunk)
    if written != size:
        raise FileCheckFailed(path, f"{written} bytes, not the {size} the run's file list gives")
    if digest.hexdigest() != sha256.lower():
        raise FileCheckFailed(path, "its sha256 differs from the run's file list")
