"""pyrunner_client, the Python module, against a real server: runs, files in and out, errors
with the server's sentences, and a run's live events (docs/client.md)."""

import hashlib
import io
import tarfile

import pytest

from client_module import CLIENT_DIR  # noqa: F401  (puts the module on sys.path)
from pyrunner_client import (
    BadRequest,
    Client,
    Event,
    FileCheckFailed,
    FileInfo,
    NotFound,
    Run,
    ServerUnreachable,
    TooManyRequests,
    Unauthorized,
    UnsafePath,
)
from tokens import create_token, revoke_tenant

CSV = "region,sales\nnorth,10\nsouth,32\n"
REPORT = """
import csv, sys
rows = list(csv.DictReader(open("data.csv")))
total = sum(int(r["sales"]) for r in rows)
print("total", total)
print("args", sys.argv[1:], "stdin", sys.stdin.read().strip())
open("out/summary.txt", "w").write(f"{total}\\n")
import os
os.makedirs("out/deep/er", exist_ok=True)
open("out/deep/er/bytes.bin", "wb").write(bytes(range(256)))
open("out/é ü.txt", "w").write("unicode\\n")
"""


@pytest.fixture
def client(server):
    return Client(server.base_url, server.token)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_a_run_of_code_returns_its_typed_result(client):
    run = client.run("import sys\nprint('hi')\nprint('oops', file=sys.stderr)\nsys.exit(3)")

    assert isinstance(run, Run)
    assert (run.status, run.exit_code, run.stdout, run.stderr) == ("failed", 3, "hi\n", "oops\n"), run
    assert run.finished and run.duration is not None and run.duration > 0
    assert run.cpu_time_ms is not None and run.memory_peak_bytes is not None and run.environment == "default"


def test_a_script_path_its_files_args_and_stdin_go_in_and_its_files_come_out(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.py").write_text(REPORT)
    (tmp_path / "data.csv").write_text(CSV)

    run = client.run("report.py", files=["data.csv"], args=["a b", "$HOME"], stdin="fed\n")

    assert run.status == "succeeded", run
    assert run.stdout == "total 42\nargs ['a b', '$HOME'] stdin fed\n"
    assert sorted(f.path for f in run.files) == ["deep/er/bytes.bin", "summary.txt", "é ü.txt"]
    saved = client.download_files(run.id, tmp_path / "got")
    assert sorted(saved) == sorted(str(tmp_path / "got" / f.path) for f in run.files)
    assert (tmp_path / "got" / "summary.txt").read_text() == "42\n"
    assert (tmp_path / "got" / "deep" / "er" / "bytes.bin").read_bytes() == bytes(range(256))
    assert (tmp_path / "got" / "é ü.txt").read_text() == "unicode\n"


def test_files_by_mapping_with_utf8_paths_and_an_archive_with_entry(client, tmp_path):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, data in (("app/main.py", "from helper import x\nprint(x, open('data/é.txt').read())\n".encode()),
                           ("app/helper.py", b"x = 'from the archive'\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "project.tar.gz").write_bytes(archive.getvalue())

    run = client.run(archive=tmp_path / "project.tar.gz", entry="app/main.py", files={"data/é.txt": b"bytes in"})

    assert (run.status, run.stdout) == ("succeeded", "from the archive bytes in\n"), run


def test_limits_and_environment_reach_the_run(client):
    run = client.run("import time\ntime.sleep(30)", limits={"wall_time_s": 1})
    assert (run.status, run.limits["wall_time_s"]) == ("timed_out", 1), run

    names = [e.name for e in client.environments()]
    assert "default" in names and "datascience" in names, names


def test_submit_get_stdout_and_cancel(client):
    run = client.submit("import time\nprint('started', flush=True)\ntime.sleep(60)")
    assert run.status in ("queued", "running"), run

    assert client.get(run.id).id == run.id
    cancelled = client.cancel(run.id)
    assert cancelled.status == "cancelled", cancelled
    assert client.stdout(run.id) in (b"", b"started\n")


def test_errors_are_typed_and_carry_the_servers_sentence(server, client):
    with pytest.raises(NotFound) as unknown:
        client.get("0" * 32)
    assert unknown.value.status == 404 and unknown.value.message

    with pytest.raises(BadRequest) as bad:
        client.run("print(1)", limits={"wall_time_s": 100000})
    assert "wall_time_s" in bad.value.message

    with pytest.raises(Unauthorized) as refused:
        Client(server.base_url, "pyr_" + "A" * 43).run("print(1)")
    assert refused.value.status == 401 and "token" in refused.value.message

    with pytest.raises(ServerUnreachable):
        Client("http://127.0.0.1:9", "t").get("x")


def test_a_full_share_is_a_429_with_retry_after(machine, server):
    token = create_token(machine, "client_quota", "--max-running", "1", "--max-queued", "1")
    try:
        tenant = Client(server.base_url, token)
        held = [tenant.submit("import time\ntime.sleep(60)") for _ in range(2)]
        with pytest.raises(TooManyRequests) as busy:
            tenant.submit("print(1)")
        assert busy.value.retry_after is not None and busy.value.retry_after > 0 and busy.value.message
        for run in held:
            tenant.cancel(run.id)
    finally:
        revoke_tenant(machine, "client_quota")


def test_a_file_whose_listed_digest_differs_is_not_kept(client, tmp_path):
    run = client.run("open('out/a.txt', 'w').write('real')")
    listed = run.files[0]

    with pytest.raises(FileCheckFailed):
        client.download_file(run.id, FileInfo(listed.path, listed.size, "0" * 64, listed.media_type), tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UnsafePath):
        client.download_file(run.id, FileInfo("../a.txt", listed.size, listed.sha256, listed.media_type), tmp_path)


# Live runs (GET /runs/{id}/events)

STREAMED = """
import sys, time
for i in range(3):
    print("out", i, flush=True)
    print("err", i, file=sys.stderr, flush=True)
    time.sleep(0.3)
"""


def test_stream_gives_status_output_in_order_and_end(client):
    run = client.submit(STREAMED)
    events = list(client.stream(run.id))

    assert all(isinstance(e, Event) for e in events)
    assert events[0].type == "status" and events[-1].type == "end", events
    final = events[-1].run
    assert final is not None and final.status == "succeeded", final
    assert "".join(e.data for e in events if e.type == "stdout") == final.stdout == "out 0\nout 1\nout 2\n"
    assert "".join(e.data for e in events if e.type == "stderr") == final.stderr
    statuses = [e.run.status for e in events if e.type == "status" and e.run is not None]
    assert statuses[-1] == "succeeded" and "running" in statuses, statuses
    assert all(e.id for e in events)


def test_a_stream_resumed_from_any_event_gives_exactly_the_rest(client):
    run = client.run(STREAMED)
    events = list(client.stream(run.id))
    assert events[-1].type == "end"

    for cut in range(1, len(events) - 1):
        rest = list(client.stream(run.id, last_event_id=events[cut - 1].id))
        output = [(e.type, e.data) for e in rest if e.type in ("stdout", "stderr")]
        assert output == [(e.type, e.data) for e in events[cut:] if e.type in ("stdout", "stderr")], cut
        assert rest[-1].type == "end"
