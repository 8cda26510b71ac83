"""Saving files whose names a run chose: refused unless plain, never through a symlink,
checked against the listed size and sha256."""

import hashlib
import os

import pytest

from pyrunner_client.errors import FileCheckFailed, UnsafePath
from pyrunner_client.paths import check_run_path, escape_controls, save_file


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", ["report.html", "a/b/c.csv", "...", "..a", "é/ü.txt", "x" * 255])
def test_plain_paths_are_taken(path):
    assert check_run_path(path) == path.split("/")


@pytest.mark.parametrize(
    "path",
    ["", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a/./b", "a//b", "a/", "a\0b", "a\nb", "a\x1b[2Jb",
     "a\x7fb", "a\x9bb", "x" * 256, "a/" * 600 + "b"],
)
def test_paths_that_are_not_plain_are_refused(path):
    with pytest.raises(UnsafePath):
        check_run_path(path)


def test_a_file_is_saved_at_its_path_with_its_directories(tmp_path):
    data = b"region,sales\n"
    saved = save_file(tmp_path / "out", "data/deep/summary.csv", [data[:5], data[5:]], len(data), sha(data))

    assert saved == str(tmp_path / "out" / "data" / "deep" / "summary.csv")
    assert (tmp_path / "out" / "data" / "deep" / "summary.csv").read_bytes() == data
    assert sorted(os.listdir(tmp_path / "out" / "data" / "deep")) == ["summary.csv"]


def test_a_symlinked_directory_in_the_out_dir_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "data").symlink_to(outside)

    with pytest.raises(UnsafePath):
        save_file(out, "data/x.txt", [b"x"], 1, sha(b"x"))
    assert list(outside.iterdir()) == []


def test_a_symlink_in_the_files_place_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.txt").symlink_to(target)

    save_file(out, "report.txt", [b"new"], 3, sha(b"new"))

    assert target.read_bytes() == b"keep me"
    assert not (out / "report.txt").is_symlink()
    assert (out / "report.txt").read_bytes() == b"new"


@pytest.mark.parametrize(
    "chunks, size, digest",
    [([b"abc"], 4, sha(b"abc")), ([b"abcd"], 3, sha(b"abc")), ([b"abc"], 3, sha(b"abd"))],
)
def test_bytes_that_differ_from_the_list_leave_nothing_behind(tmp_path, chunks, size, digest):
    with pytest.raises(FileCheckFailed):
        save_file(tmp_path, "f.bin", chunks, size, digest)
    assert os.listdir(tmp_path) == []


def test_an_unsafe_path_creates_nothing(tmp_path):
    with pytest.raises(UnsafePath):
        save_file(tmp_path / "out", "a/../../escape", [b""], 0, sha(b""))
    assert not (tmp_path / "escape").exists()


def test_control_characters_are_escaped_for_the_terminal():
    assert escape_controls("plain é") == "plain é"
    assert escape_controls("a\x1b[2Jb\nc\x9b\\") == "a\\x1b[2Jb\\nc\\x9b\\\\"
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in escape_controls("".join(map(chr, range(0xA0)))))
