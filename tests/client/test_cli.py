"""The command's pure parts: exit statuses, the progress line and the display around the
run's output, its arguments, and the multipart body it sends."""

import io

import pytest

from pyrunner_client.cli import build_parser, exit_code_for, parse
from pyrunner_client.client import multipart, run_path_for
from pyrunner_client.models import Run
from pyrunner_client.terminal import CLEAR_LINE, Display, format_duration, format_progress


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"status": "succeeded", "exit_code": 0}, 0),
        ({"status": "failed", "exit_code": 3}, 3),
        ({"status": "failed", "exit_code": None, "signal": "SIGSEGV"}, 139),
        ({"status": "timed_out", "signal": "SIGKILL"}, 124),
        ({"status": "out_of_memory", "signal": "SIGKILL"}, 125),
        ({"status": "output_limit_exceeded"}, 126),
        ({"status": "cancelled"}, 130),
        ({"status": "error"}, 70),
    ],
)
def test_each_status_has_its_exit_code(fields, code):
    assert exit_code_for(Run.from_json({"id": "r", **fields})) == code


def test_the_progress_line_shows_what_the_server_gave_escaped_and_cut_to_the_width():
    assert format_progress("0123456789", "running", 65.2, 1500.0, 3 * 1024 * 1024, 80) == (
        "pyrunner 01234567 | running | 1m05s | cpu 1.5s | mem 3.0 MiB")
    assert format_progress("abc", "queued", 2.9, None, None, 80) == "pyrunner abc | queued | 2s"
    assert format_progress("a\x1b]0;x\x07", "running", 0, None, None, 80) == "pyrunner a\\x1b]0;x\\x07 | running | 0s"
    assert len(format_progress("abc", "running", 1, 1.0, 1, 20)) == 19
    assert format_duration(7200) == "2h00m"


def display(progress, stdout_is_terminal=True):
    out, err = io.BytesIO(), io.BytesIO()
    return Display(out, err, progress, stdout_is_terminal), out, err


def test_the_progress_line_is_cleared_before_output_and_drawn_again_after_a_whole_line():
    shown, out, err = display(progress=True)
    shown.show("pyrunner r | running | 1s")
    shown.output("stdout", "first\n")
    shown.output("stderr", "warn\n")
    shown.close()

    assert out.getvalue() == b"first\n"
    line = "pyrunner r | running | 1s"
    assert err.getvalue().decode() == (CLEAR_LINE + line + CLEAR_LINE + CLEAR_LINE + line + CLEAR_LINE + "warn\n"
                                       + CLEAR_LINE + line + CLEAR_LINE)


def test_the_progress_line_waits_while_a_line_is_half_written():
    shown, out, err = display(progress=True)
    shown.output("stdout", "half")
    shown.show("progress")
    assert err.getvalue() == b""
    shown.output("stdout", " done\n")
    assert err.getvalue().decode() == CLEAR_LINE + "progress"


def test_no_progress_line_is_ever_written_without_a_terminal():
    shown, out, err = display(progress=False)
    shown.show("progress")
    shown.output("stdout", "a\n")
    shown.output("stderr", "b\n")
    shown.message("pyrunner: done")
    shown.close()
    assert (out.getvalue(), err.getvalue()) == (b"a\n", b"b\npyrunner: done\n")


def test_connection_options_may_come_before_or_after_the_command():
    parser = build_parser()
    before = parser.parse_args(["--url", "http://a:1", "status", "x"])
    after = parser.parse_args(["status", "x", "--url", "http://b:2", "--token", "t"])
    assert (before.url, before.token) == ("http://a:1", None)
    assert (after.url, after.token) == ("http://b:2", "t")


def test_run_takes_files_limits_and_the_scripts_arguments():
    args = parse(
        ["run", "report.py", "--file", "data.csv", "--file", "b.bin", "--env", "datascience",
         "--limit", "wall_time_s=30", "--requirement", "six", "--", "a", "--b"])
    assert (args.script, args.files, args.environment, args.limits, args.requirements, args.args) == (
        "report.py", ["data.csv", "b.bin"], "datascience", [("wall_time_s", 30)], ["six"], ["a", "--b"])
    with pytest.raises(SystemExit):
        parse(["run", "x.py", "--limit", "wall_time_s"])
    with pytest.raises(SystemExit):
        parse(["status", "x", "--", "a"])


def test_local_files_keep_plain_relative_paths_and_otherwise_their_names():
    assert run_path_for("data/sales.csv") == "data/sales.csv"
    assert run_path_for("./data.csv") == "data.csv"
    assert run_path_for("/tmp/x/data.csv") == "data.csv"
    assert run_path_for("../data.csv") == "data.csv"


def test_multipart_parts_carry_their_filenames_utf8_ones_in_rfc_2231_form():
    body, content_type = multipart([("files", "data/é.csv", "application/octet-stream", b"x"),
                                    ("files", "plain.txt", "text/plain", b"y"), ("options", None, "application/json", b"{}")])
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b"filename*=UTF-8''data%2F%C3%A9.csv" in body
    assert b'name="files"; filename="plain.txt"' in body
    assert b'Content-Disposition: form-data; name="options"\r\n' in body
