"""A run's files: what a request brings in (JSON `files`, multipart `files` parts, one
`archive`, `entry`), and what the run leaves in out/, collected at its end whatever its status
and served by GET /runs/{id}/files/{path} and /runs/{id}/files.zip (docs/api.md)."""

import json
import os
import time

import pytest

from api_client import assert_error_body, assert_run_object, describe
from deployment import BROKER_UNIT, SLOWDOWN
from run_files import (
    MIB,
    assert_files_fields,
    archive_of,
    base64_file,
    by_path,
    fetch,
    fetch_ok,
    fetch_zip,
    post_form,
    post_json,
    run_form,
    run_json,
    served_contents,
    sha256,
    utf8_file,
    wait_for_files,
)

# Prints {path: sha256} of every file under the working directory but out/, and whether
# out/ is there, empty and writable.
INVENTORY = """
import hashlib, json, os
seen = {}
for top, dirs, names in os.walk("."):
    dirs[:] = sorted(d for d in dirs if (top, d) != (".", "out"))
    for name in names:
        path = os.path.relpath(os.path.join(top, name))
        seen[path] = hashlib.sha256(open(path, "rb").read()).hexdigest()
print(json.dumps({"files": seen, "out": [os.path.isdir("out"), os.listdir("out") if os.path.isdir("out") else None,
                                         os.access("out", os.W_OK)]}))
"""

CSV = "region,sales\nnorth,10\nsouth,32\n"
BINARY = bytes(range(256)) * 4


def inventory(run):
    assert run["status"] == "succeeded", run
    return json.loads(run["stdout"])


# Files in


def test_json_files_in_utf8_and_base64_are_in_the_working_directory_before_the_script_starts(server):
    run = server.run(INVENTORY, files=[utf8_file("data/sales.csv", CSV), base64_file("blob.bin", BINARY),
                                       {"path": "notes é.txt", "content": "ünïcode\n"}])

    seen = inventory(run)
    assert seen["files"] == {"data/sales.csv": sha256(CSV.encode()), "blob.bin": sha256(BINARY),
                             "notes é.txt": sha256("ünïcode\n".encode())}, seen
    # The script itself is not among the working directory's files, and out/ is ready.
    assert seen["out"] == [True, [], True], seen
    assert_run_object(run)
    assert_files_fields(run)
    assert run["files"] == [] and run["files_truncated"] is False, run


def test_a_script_reads_a_csv_it_was_given(server):
    code = "import csv\nrows = list(csv.DictReader(open('data/sales.csv')))\nprint(sum(int(r['sales']) for r in rows))\n"
    run = server.run(code, files=[utf8_file("data/sales.csv", CSV)])

    assert (run["status"], run["stdout"]) == ("succeeded", "42\n"), run


def test_multipart_files_parts_are_in_place(server):
    run = run_form(server, script=INVENTORY, files=[("data/sales.csv", CSV.encode()), ("bin/raw", BINARY)])

    assert inventory(run)["files"] == {"data/sales.csv": sha256(CSV.encode()), "bin/raw": sha256(BINARY)}, run


PROJECT = [
    ("data/sales.csv", CSV.encode()),
    ("data/deep/er/blob.bin", BINARY),
    ("README", b"a project\n"),
]


# The archive's name says nothing: its format is read from its content.
@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "tar.xz"])
def test_an_archive_is_unpacked_into_the_working_directory(server, kind):
    run = run_form(server, script=INVENTORY, archive=("upload.bin", archive_of(kind, PROJECT)),
                   files=[("extra.txt", b"beside the archive\n")])

    expected = {path: sha256(data) for path, data in PROJECT}
    assert inventory(run)["files"] == {**expected, "extra.txt": sha256(b"beside the archive\n")}, run


ENTRY_MAIN = """
import os, sys
from helper import greeting
from pkg.tools import double
print(greeting(), double(21))
print(os.path.abspath(sys.argv[0]) == os.path.join(os.getcwd(), "app", "main.py"))
print(open("app/data.txt").read().strip(), os.path.isdir("out"))
"""
ENTRY_FILES = [
    ("app/main.py", ENTRY_MAIN.encode()),
    ("app/helper.py", b"def greeting():\n    return 'hello from a sibling'\n"),
    ("app/pkg/__init__.py", b""),
    ("app/pkg/tools.py", b"def double(n):\n    return 2 * n\n"),
    ("app/data.txt", b"data beside it\n"),
]
ENTRY_STDOUT = "hello from a sibling 42\nTrue\ndata beside it True\n"


def test_entry_in_json_files_runs_a_project_whose_modules_import(server):
    run = run_json(server, {"files": [utf8_file(path, data.decode()) for path, data in ENTRY_FILES],
                            "entry": "app/main.py"})

    assert (run["status"], run["stdout"]) == ("succeeded", ENTRY_STDOUT), run


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_entry_in_options_runs_a_project_from_an_archive(server, kind):
    run = run_form(server, archive=("project", archive_of(kind, ENTRY_FILES)), options={"entry": "app/main.py"})

    assert (run["status"], run["stdout"]) == ("succeeded", ENTRY_STDOUT), run


def test_code_and_entry_together_are_refused(server):
    response = post_json(server, {"code": "print(1)", "entry": "main.py", "files": [utf8_file("main.py", "print(2)")]})

    assert "entry" in assert_error_body(response, 400)


def test_neither_code_nor_entry_is_refused(server):
    assert_error_body(post_json(server, {"files": [utf8_file("main.py", "print(2)")]}), 400)


def test_an_entry_that_is_not_among_the_files_is_refused(server):
    response = post_json(server, {"entry": "app/missing.py", "files": [utf8_file("app/main.py", "print(2)")]})

    assert "app/missing.py" in assert_error_body(response, 400)


def test_files_in_are_writable_and_count_against_disk_mb(server):
    code = (
        "import errno\n"
        "with open('data/big.bin', 'ab') as f:\n"
        "    f.write(b'more')\n"
        "try:\n"
        "    open('/tmp/fill', 'wb').write(b'x' * (4 * 1024 * 1024))\n"
        "    print('written')\n"
        "except OSError as error:\n"
        "    print(errno.errorcode[error.errno])\n"
    )
    # 6 MiB in, in a space of 8: another 4 do not fit.
    run = server.run(code, files=[base64_file("data/big.bin", b"\0" * (6 * MIB))], limits={"disk_mb": 8})

    assert (run["status"], run["stdout"]) == ("succeeded", "ENOSPC\n"), run


def test_files_larger_than_disk_mb_are_refused(server):
    response = post_json(server, {"code": "print(1)", "files": [base64_file("big.bin", b"\0" * (6 * MIB))],
                                  "limits": {"disk_mb": 4}})

    assert "disk_mb" in assert_error_body(response, 413)


REFUSED_PATHS = [
    ("../escape.txt", "../escape.txt"),
    ("/etc/passwd", "/etc/passwd"),
    ("data//x.csv", "data//x.csv"),
    ("./x.csv", "./x.csv"),
    ("data/../x.csv", "data/../x.csv"),
    ("data/", "data/"),
    ("", None),
    ("out/report.html", "out/report.html"),
    ("out", "out"),
    ("line\nbreak.txt", "break.txt"),
    ("a" * 256, "a" * 32),
    ("d/" * 512 + "x", "d/d/d/d/"),
]


@pytest.mark.parametrize("path,named", REFUSED_PATHS, ids=lambda value: repr(value)[:24] if isinstance(value, str) else "")
def test_a_path_against_the_rule_is_refused_naming_it(server, path, named):
    response = post_json(server, {"code": "print(1)", "files": [utf8_file(path, "x")]})

    error = assert_error_body(response, 400)
    if named:
        assert named in error, error


def test_a_path_given_twice_is_refused(server):
    response = post_json(server, {"code": "print(1)", "files": [utf8_file("a.txt", "1"), utf8_file("a.txt", "2")]})

    assert "a.txt" in assert_error_body(response, 400)


def test_a_multipart_path_against_the_rule_is_refused_naming_it(server):
    response = post_form(server, script="print(1)", files=[("../up.txt", b"x")])

    assert "../up.txt" in assert_error_body(response, 400)


def test_an_unknown_encoding_is_refused(server):
    response = post_json(server, {"code": "print(1)", "files": [{"path": "a.txt", "content": "x", "encoding": "rot13"}]})

    assert "encoding" in assert_error_body(response, 400)


def test_more_files_than_files_count_are_refused(server):
    files = [utf8_file(f"f{n}.txt", "x") for n in range(101)]

    assert "files_count" in assert_error_body(post_json(server, {"code": "print(1)", "files": files}), 413)
    # The default is 100; a higher limit lets them in.
    run = server.run("import os\nprint(len(os.listdir('.')))\n", files=files, limits={"files_count": 200})
    assert (run["status"], run["stdout"]) == ("succeeded", "102\n"), run


def test_an_archive_past_files_count_is_refused(server):
    members = [(f"f{n}.txt", b"x") for n in range(11)]
    response = post_form(server, script="print(1)", archive=("a.zip", archive_of("zip", members)),
                         options={"limits": {"files_count": 10}})

    assert "files_count" in assert_error_body(response, 413)


def test_files_past_files_bytes_are_refused(server):
    response = post_json(server, {"code": "print(1)", "files": [utf8_file("a.txt", "x" * 600), utf8_file("b.txt", "y" * 600)],
                                  "limits": {"files_bytes": 1000}})

    assert "files_bytes" in assert_error_body(response, 413)


def test_files_limits_above_their_maximum_are_refused(server):
    for name, value in (("files_count", 10001), ("files_bytes", 256 * MIB + 1)):
        response = post_json(server, {"code": "print(1)", "limits": {name: value}})
        assert name in assert_error_body(response, 400)


# Files out

WRITE_OUT = """
import os
files = {files!r}
for path, data in files.items():
    os.makedirs(os.path.dirname(os.path.join("out", path)) or "out", exist_ok=True)
    with open(os.path.join("out", path), "wb") as f:
        f.write(data)
print("wrote", len(files))
"""
OUT_FILES = {
    "summary.csv": b"region,total\nnorth,10\nsouth,32\n",
    "report.html": b"<!doctype html><title>r</title><script>fetch('/runs')</script><p>42</p>\n",
    "chart.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "data.json": b'{"total": 42}\n',
    "notes.txt": "ünïcode text\n".encode(),
    "figure.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    "paper.pdf": b"%PDF-1.4\n%%EOF\n",
    "photo.jpg": b"\xff\xd8\xff\xe0" + b"\0" * 100,
    "model.bin": bytes(range(256)) * 64,
    "no_extension": b"plain bytes",
    "empty.txt": b"",
    "nested/a/b/deep.csv": b"x\n1\n",
    "spaced name é.txt": b"named oddly\n",
}
MEDIA_TYPES = {
    "summary.csv": "text/csv", "report.html": "text/html", "chart.png": "image/png",
    "data.json": "application/json", "notes.txt": "text/plain", "figure.svg": "image/svg+xml",
    "paper.pdf": "application/pdf", "photo.jpg": "image/jpeg", "model.bin": "application/octet-stream",
    "no_extension": "application/octet-stream", "empty.txt": "text/plain", "nested/a/b/deep.csv": "text/csv",
    "spaced name é.txt": "text/plain",
}


def write_out(files=OUT_FILES):
    return WRITE_OUT.format(files=files)


@pytest.fixture(scope="module")
def collected(server):
    """One run that left OUT_FILES in out/."""
    run = server.run(write_out())
    assert run["status"] == "succeeded", run
    return run


def test_every_regular_file_in_out_is_collected_with_size_sha256_and_media_type(collected):
    assert_run_object(collected)
    assert_files_fields(collected)
    listed = by_path(collected)
    assert listed.keys() == OUT_FILES.keys(), sorted(listed)
    for path, data in OUT_FILES.items():
        assert listed[path]["size"] == len(data), listed[path]
        assert listed[path]["sha256"] == sha256(data), listed[path]
        assert listed[path]["media_type"] == MEDIA_TYPES[path], listed[path]
    assert collected["files_truncated"] is False and collected["files_skipped"] == [], collected


def test_a_file_is_served_as_its_exact_bytes_with_its_headers(server, collected):
    for path, data in OUT_FILES.items():
        response = fetch(server, collected["id"], path)
        assert response.status_code == 200, describe(response)
        assert response.content == data, path
        headers = response.headers
        media_type = headers["Content-Type"].split(";")[0].strip()
        assert media_type == MEDIA_TYPES[path], (path, headers)
        if media_type.startswith("text/"):
            assert "charset=utf-8" in headers["Content-Type"].lower().replace(" ", ""), headers
        assert int(headers["Content-Length"]) == len(data), headers
        assert headers["ETag"] == f'"{sha256(data)}"', headers
        assert headers["X-Content-Type-Options"] == "nosniff", headers
        # A report's HTML cannot script against the API's origin.
        assert "sandbox" in headers["Content-Security-Policy"], headers


def test_files_zip_holds_every_file_at_its_path(server, collected):
    assert fetch_zip(server, collected["id"]) == OUT_FILES


def test_an_unknown_file_or_run_is_404(server, collected):
    run_id = collected["id"]
    for path in ("missing.txt", "nested/a", "nested", "Summary.csv", "summary.csv/x"):
        assert_error_body(fetch(server, run_id, path), 404)
    # Never a way out of the run's files to its other records or another run's.
    for raw in ("..%2Fstdout", "%2E%2E%2F%2E%2E%2Fruns", "0", "../files-manifest"):
        response = server.get(f"/runs/{run_id}/files/{raw}")
        assert response.status_code in (400, 404), describe(response)
    assert_error_body(fetch(server, "0" * 32, "summary.csv"), 404)
    assert_error_body(server.get(f"/runs/{'0' * 32}/files.zip"), 404)


def test_a_run_that_writes_nothing_has_no_files_and_an_empty_zip(server):
    run = server.run("print('nothing')")

    assert_files_fields(run)
    assert (run["files"], run["files_skipped"], run["files_truncated"]) == ([], [], False), run
    assert fetch_zip(server, run["id"]) == {}


def test_files_come_out_of_a_failed_run(server):
    run = server.run(write_out({"why.txt": b"it failed"}) + "raise SystemExit(3)\n")

    assert (run["status"], run["exit_code"]) == ("failed", 3), run
    assert fetch_ok(server, run["id"], "why.txt") == b"it failed"


def test_a_timed_out_run_keeps_what_it_wrote(server):
    code = write_out({"partial.txt": b"before the limit"}) + "import time\ntime.sleep(60)\n"
    run = server.run(code, limits={"wall_time_s": 2})

    assert run["status"] == "timed_out", run
    assert [entry["path"] for entry in run["files"]] == ["partial.txt"], run
    assert fetch_ok(server, run["id"], "partial.txt") == b"before the limit"


def test_an_out_of_memory_run_keeps_what_it_wrote(server):
    code = write_out({"before-oom.txt": b"written first"}) + "hog = []\nwhile True:\n    hog.append(b'x' * (1 << 20))\n"
    run = server.run(code, limits={"memory_mb": 64})

    assert run["status"] == "out_of_memory", run
    assert fetch_ok(server, run["id"], "before-oom.txt") == b"written first"


def test_a_running_run_lists_no_files_and_a_cancelled_one_keeps_what_it_wrote(server):
    code = write_out({"progress.txt": b"so far"}) + "import sys, time\nsys.stdout.flush()\ntime.sleep(60)\n"
    submitted = server.submit(code, limits={"wall_time_s": 60})
    server.wait_until_running(submitted["id"])
    deadline = time.monotonic() + 30
    while server.get(f"/runs/{submitted['id']}/stdout").content != b"wrote 1\n":
        assert time.monotonic() < deadline, "the run never wrote its file"
        time.sleep(0.1)
    running = server.get_run(submitted["id"])
    assert_files_fields(running)
    assert running["files"] == [] and running["files_truncated"] is False, running

    assert server.delete(f"/runs/{submitted['id']}").status_code == 200
    run = wait_for_files(server, submitted["id"])

    assert run["status"] == "cancelled", run
    assert fetch_ok(server, run["id"], "progress.txt") == b"so far"


def test_past_files_count_collection_stops_truncated_and_the_run_is_output_limit_exceeded(server):
    files = {f"f{n:02}.txt": f"file {n}".encode() for n in range(8)}
    run = server.run(write_out(files), limits={"files_count": 5})

    assert run["status"] == "output_limit_exceeded", run
    assert run["exit_code"] == 0, run
    assert run["files_truncated"] is True, run
    assert len(run["files"]) == 5, run["files"]
    for path, data in served_contents(server, run).items():
        assert files[path] == data


def test_past_files_bytes_collection_stops_with_whole_files_only(server):
    files = {f"f{n}.bin": bytes([n]) * 600 for n in range(3)}
    run = server.run(write_out(files), limits={"files_bytes": 1000})

    assert (run["status"], run["files_truncated"]) == ("output_limit_exceeded", True), run
    assert sum(entry["size"] for entry in run["files"]) <= 1000, run["files"]
    for path, data in served_contents(server, run).items():
        assert files[path] == data


def test_truncation_does_not_change_a_failed_verdict(server):
    files = {f"f{n}.txt": b"x" for n in range(4)}
    run = server.run(write_out(files) + "raise SystemExit(2)\n", limits={"files_count": 2})

    assert (run["status"], run["exit_code"], run["files_truncated"]) == ("failed", 2, True), run


def test_collected_files_survive_a_restart_of_the_front(server_factory, restart):
    server = server_factory()
    files = {"kept.txt": b"still here", "deep/kept.bin": bytes(range(256))}
    run = server.run(write_out(files))
    assert run["status"] == "succeeded", run

    restarted = restart(server, signal="SIGKILL")

    again = restarted.get_run(run["id"])
    assert again["files"] == run["files"], again
    assert served_contents(restarted, again) == files


def test_a_run_given_files_and_writing_out_both_work_together(server):
    code = (
        "import csv\n"
        "rows = list(csv.DictReader(open('data/sales.csv')))\n"
        "with open('out/total.txt', 'w') as f:\n"
        "    f.write(str(sum(int(r['sales']) for r in rows)))\n"
    )
    run = server.run(code, files=[utf8_file("data/sales.csv", CSV)])

    assert run["status"] == "succeeded", run
    assert fetch_ok(server, run["id"], "total.txt") == b"42"
    # Files in are not files out.
    assert [entry["path"] for entry in run["files"]] == ["total.txt"], run


def test_listed_paths_are_relative_to_out(collected):
    # Paths in the Run object are relative to out/, never the host's.
    for entry in collected["files"]:
        assert not entry["path"].startswith(("out/", "/")) and os.path.normpath(entry["path"]) == entry["path"], entry


@pytest.mark.vm
def test_files_a_run_leaves_while_the_broker_is_away_are_collected(server_factory, machine, broker_starter):
    # Written, then the script ends while no broker watches: systemd runs the collector all
    # the same, and the broker that comes back finds the run over with its files.
    server = server_factory()
    code = ("import time\ntime.sleep(1.5)\nopen('out/away.txt', 'w').write('collected without a broker')\n"
            "time.sleep(1.5)\n")
    run_id = server.submit(code, limits={"wall_time_s": 30})["id"]
    server.wait_until_running(run_id)
    machine.run("systemctl", "kill", "--signal=SIGKILL", BROKER_UNIT, check=False)
    machine.run("systemctl", "stop", BROKER_UNIT, check=False)
    try:
        # The run ends, and its unit goes, while the broker is gone.
        unit = f"pyrunner-{run_id}.service"
        deadline = time.monotonic() + 30 * SLOWDOWN
        while machine.run("systemctl", "is-active", "--quiet", unit, check=False).returncode == 0:
            assert time.monotonic() < deadline, f"{unit} never ended"
            time.sleep(0.2)
    finally:
        broker_starter()

    run = wait_for_files(server, run_id, timeout_s=60 * SLOWDOWN)
    assert run["status"] == "succeeded", run
    assert served_contents(server, run) == {"away.txt": b"collected without a broker"}
