"""Hostile runs against files in and out: the unpacker and the collector.

The collector (pyrunner-collect-files, the unit's ExecStopPost) runs as root for every run,
after the run's processes are dead, and reads out/ through a child with the run's uid that
never follows a link; the unpacker checks every archive entry before anything is written
(docs/security.md). Each test asserts what the run got, that nothing outside out/ was ever
served, that the run's directory holds only plain copies named by index, and that the
machine is clean and the server healthy and idle afterwards.
"""

import io
import json
import stat
import tarfile
import time
import zipfile

import pytest

from api_client import assert_error_body, assert_run_object
from deployment import SLOWDOWN
from hostile import server_rss_kib, wait_until_clean
from run_files import (
    MIB,
    assert_files_fields,
    by_path,
    fetch,
    fetch_ok,
    fetch_zip,
    post_form,
    run_dir_is_plain,
    served_contents,
    sha256,
    skipped,
    zip_of,
)

pytestmark = pytest.mark.vm

WALL_S = min(60, 5 * SLOWDOWN)
LIMITS = {"wall_time_s": WALL_S, "memory_mb": 128, "tasks": 16}
# How long collection may add to a run's end, on top of its wall time.
COLLECTION_BOUND_S = 20 * SLOWDOWN
# In /etc/passwd and /etc/shadow alike: no served byte may come from either.
HOST_SECRET = b"root:"
MARKER = "pyrunner-files-marker-5d1c0e"

# Puts the run's out/ at hand and a daemon maker in every program below.
PRELUDE = """
import errno, json, os, socket, sys, time
os.chdir("out")

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))

def daemon(body):
    # Outlives the script: fork, setsid, fork again; only the unit's end kills it.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                body()
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()
"""


@pytest.fixture
def clean_machine(machine, server):
    """Clean and idle before (nothing earlier is blamed on the test) and after; the host's
    account files unchanged."""
    wait_until_clean(machine, server)
    before = machine.run("sha256sum", "/etc/passwd", "/etc/shadow").stdout
    yield
    wait_until_clean(machine, server)
    assert machine.run("sha256sum", "/etc/passwd", "/etc/shadow").stdout == before


def run_program(server, body, limits=None, **fields):
    """Runs PRELUDE + body blocking; returns the run and how long the request took."""
    started = time.monotonic()
    run = server.run(PRELUDE + body, limits={**LIMITS, **(limits or {})}, **fields)
    return run, time.monotonic() - started


def contained(server, machine, run, secrets=(HOST_SECRET,)):
    """Everything served for the run is what the run wrote: none of `secrets` in any byte of
    it, each file its listed size and sha256, the zip the same, the run's directory plain."""
    assert_run_object(run)
    assert_files_fields(run)
    served = served_contents(server, run)
    for path, data in served.items():
        for secret in secrets:
            assert secret not in data, f"{path} holds {secret!r}"
    run_dir_is_plain(machine, server, run)
    return served


# Links


SYMLINK_TARGETS = {
    "etc_shadow": lambda state: ["/etc/shadow", "/etc/passwd"],
    "state_dir": lambda state: [state, f"{state}/runs", f"{state}/front"],
    "proc_self_environ": lambda state: ["/proc/self/environ", "/proc/1/environ", "/proc/self/mem"],
    "proc_self_root": lambda state: ["/proc/self/root", "/proc/self/root/etc/shadow", "/proc/self/cwd", "/"],
}

PLANT_LINKS = """
targets = json.loads(sys.argv[1])
os.makedirs("sub/deeper")
open("mine.txt", "w").write("mine")
for n, target in enumerate(targets):
    os.symlink(target, f"link{n}")
    os.symlink(target, f"sub/deeper/link{n}")
print(json.dumps(sorted(os.listdir("."))))
"""


@pytest.mark.parametrize("kind", SYMLINK_TARGETS)
def test_a_symlink_out_of_out_is_skipped_and_never_followed(server, machine, clean_machine, kind):
    targets = SYMLINK_TARGETS[kind](server.state_dir)
    run, _ = run_program(server, PLANT_LINKS, args=[json.dumps(targets)])

    assert run["status"] == "succeeded", run
    served = contained(server, machine, run, secrets=(HOST_SECRET, server.secret[1].encode(), b"PATH="))
    assert served == {"mine.txt": b"mine"}, sorted(served)
    links = {f"{where}link{n}" for n in range(len(targets)) for where in ("", "sub/deeper/")}
    assert skipped(run) == dict.fromkeys(links, "symlink"), run["files_skipped"]
    for link in links:
        assert fetch(server, run["id"], link).status_code == 404


def test_a_symlink_to_another_runs_collected_files_is_skipped(server, machine, clean_machine):
    secret = f"{MARKER}-secret"
    victim = server.run(f"open('out/secret.txt', 'w').write({secret!r})\n")
    assert victim["status"] == "succeeded" and by_path(victim).keys() == {"secret.txt"}, victim
    victim_dir = f"{server.state_dir}/runs/{victim['id']}"
    steal = """
for n, target in enumerate(sys.argv[1:]):
    os.symlink(target, f"stolen{n}")
    print(n, attempt(lambda: open(target).read()))
"""
    targets = [f"{victim_dir}/files/0", f"{victim_dir}/files", f"{victim_dir}/files-manifest", victim_dir]

    run, _ = run_program(server, steal, args=targets)

    assert run["status"] == "succeeded", run
    # The run itself cannot read them, and the collector did not read them for it.
    assert "allowed" not in run["stdout"], run["stdout"]
    served = contained(server, machine, run, secrets=(secret.encode(), HOST_SECRET))
    assert served == {}, sorted(served)
    assert skipped(run) == {f"stolen{n}": "symlink" for n in range(len(targets))}, run["files_skipped"]
    assert fetch_ok(server, victim["id"], "secret.txt") == secret.encode()


SWAP = """
os.makedirs("d")
open("d/passwd", "w").write("my own passwd")
open("d/shadow", "w").write("my own shadow")

def swap():
    while True:
        try:
            os.rename("d", "d.real")
            os.symlink("/etc", "d")
            os.rename("d", "d.link")
            os.rename("d.real", "d")
            os.unlink("d.link")
        except OSError:
            pass

daemon(swap)
time.sleep(1)
print("swapping", flush=True)
"""


def test_a_directory_swapped_for_a_symlink_in_a_loop_leaks_nothing(server, machine, clean_machine):
    run, took = run_program(server, SWAP)

    assert run["status"] == "succeeded", run
    assert run["stdout"] == "swapping\n", run
    assert took < WALL_S + COLLECTION_BOUND_S, took
    served = contained(server, machine, run)
    # Whatever state the loop left: the run's own two files, or a link skipped.
    assert set(served) <= {"d/passwd", "d/shadow", "d.real/passwd", "d.real/shadow"}, sorted(served)
    for path, data in served.items():
        assert data in (b"my own passwd", b"my own shadow"), (path, data[:100])
    assert set(skipped(run).values()) <= {"symlink"}, run["files_skipped"]


HARD_LINK = """
import hashlib
readable = open("/etc/passwd", "rb").read()
print(json.dumps({"link": attempt(lambda: os.link("/etc/passwd", "passwd")),
                  "sha256": hashlib.sha256(readable).hexdigest()}))
"""


def test_a_hard_link_to_a_host_file_gives_no_more_than_the_run_could_read(server, machine, clean_machine):
    run, _ = run_program(server, HARD_LINK)

    assert run["status"] == "succeeded", run
    report = json.loads(run["stdout"])
    served = contained(server, machine, run, secrets=())
    if report["link"] != "allowed":
        assert report["link"] in {"EXDEV", "EPERM", "EACCES"}, report
        assert served == {}, sorted(served)
    else:
        # Only what the run read itself, byte for byte.
        assert sha256(served["passwd"]) == report["sha256"], report


FIFO_AND_SOCKET = """
os.mkfifo("pipe")
listener = socket.socket(socket.AF_UNIX)
listener.bind("sock")
listener.listen(1)
# A FIFO with a writer that never writes, and one with no one at the other end.
os.mkfifo("held")
daemon(lambda: (os.open("held", os.O_RDWR), time.sleep(10**6)))
open("plain.txt", "w").write("plain")
print("made", flush=True)
"""


def test_fifos_and_sockets_are_skipped_and_the_run_ends_promptly(server, machine, clean_machine):
    run, took = run_program(server, FIFO_AND_SOCKET)

    assert run["status"] == "succeeded", run
    assert took < WALL_S + COLLECTION_BOUND_S, took
    assert contained(server, machine, run) == {"plain.txt": b"plain"}
    assert skipped(run) == {"pipe": "fifo", "held": "fifo", "sock": "socket"}, run["files_skipped"]


# Numbers and shapes


MANY_FILES = """
for top in range(100):
    os.mkdir(f"d{top:02}")
    for n in range(1000):
        os.close(os.open(f"d{top:02}/f{n:03}", os.O_CREAT | os.O_WRONLY, 0o644))
print("made", flush=True)
"""


def test_a_hundred_thousand_files_are_cut_at_files_count_in_bounded_time(server, machine, clean_machine):
    wall_s = min(60, 30 * SLOWDOWN)

    run, took = run_program(server, MANY_FILES, limits={"files_count": 10000, "wall_time_s": wall_s,
                                                        "memory_mb": 512, "tasks": 16})

    assert run["status"] == "output_limit_exceeded", run
    assert run["stdout"] == "made\n", run
    assert run["files_truncated"] is True, run
    assert len(run["files"]) == 10000, len(run["files"])
    assert took < wall_s + COLLECTION_BOUND_S, took
    assert_files_fields(run)
    for entry in run["files"][:: 2500]:
        assert entry["size"] == 0 and fetch_ok(server, run["id"], entry["path"]) == b""
    assert len(fetch_zip(server, run["id"])) == 10000
    run_dir_is_plain(machine, server, run)


DEEP = """
base = os.getcwd()
for depth in range(2000):
    os.mkdir("d")
    os.chdir("d")
    if depth == 9:
        open("shallow.txt", "w").write("ten deep")
open("deep.txt", "w").write("two thousand deep")
os.chdir(base)
print("nested", flush=True)
"""


def test_two_thousand_deep_nesting_yields_one_invalid_name(server, machine, clean_machine):
    run, took = run_program(server, DEEP)

    assert run["status"] == "succeeded", run
    assert took < WALL_S + COLLECTION_BOUND_S, took
    served = contained(server, machine, run)
    assert served == {"d/" * 10 + "shallow.txt": b"ten deep"}, sorted(served)
    reasons = [entry["reason"] for entry in run["files_skipped"]]
    assert reasons == ["invalid_name"], run["files_skipped"]
    assert len(run["files_skipped"][0]["path"].encode()) <= 4096, run["files_skipped"]


ODD_NAMES = """
valid = ["...", "..a", "a..", ".hidden", " lead", "-dash", "back\\\\slash", "é.txt", "x" * 255, "q?#%.txt"]
invalid = ["new\\nline.txt", "tab\\tname", "bell\\a"]
for name in valid + invalid:
    open(name, "w").write(repr(name))
os.close(os.open(b"bad\\xff\\xfe.bin", os.O_CREAT | os.O_WRONLY, 0o644))
print(json.dumps(valid), flush=True)
"""


def test_odd_names_are_collected_when_valid_and_skipped_as_invalid_name_otherwise(server, machine, clean_machine):
    run, _ = run_program(server, ODD_NAMES)

    assert run["status"] == "succeeded", run
    valid = json.loads(run["stdout"])
    served = contained(server, machine, run)
    assert served == {name: repr(name).encode() for name in valid}, sorted(served)
    assert [entry["reason"] for entry in run["files_skipped"]] == ["invalid_name"] * 4, run["files_skipped"]
    for entry in run["files_skipped"]:
        # Shown, never as the raw control character or invalid byte.
        assert not any(ord(c) < 32 for c in entry["path"]), entry


GROWING = """
with open("grow.log", "wb") as log:
    log.write(b"g" * 65536)

def grow():
    with open("grow.log", "ab") as log:
        while True:
            log.write(b"g" * 4096)
            log.flush()
            # Slowly enough to stay far below files_bytes until the unit's end kills it.
            time.sleep(0.005)

daemon(grow)
time.sleep(0.5)
print("growing", flush=True)
"""


def test_a_file_still_growing_after_the_script_is_collected_as_a_snapshot(server, machine, clean_machine):
    run, took = run_program(server, GROWING, limits={"disk_mb": 64})

    assert run["status"] == "succeeded", run
    assert took < WALL_S + COLLECTION_BOUND_S, took
    served = contained(server, machine, run)
    entry = by_path(run)["grow.log"]
    assert entry["size"] >= 65536 and len(served["grow.log"]) == entry["size"], entry
    assert set(served["grow.log"]) == {ord("g")}


# The unpacker


def nothing_written(machine, server, names):
    """No run started, and none of `names` exists where an escape would have put it."""
    health = server.get("/healthz").json()
    assert (health["running"], health["queued"]) == (0, 0), health
    places = [f"{where}/{name}" for name in names for where in ("", "/tmp", "/etc", "/var/tmp", server.state_dir)]
    found = machine.run("sh", "-c", 'for p; do [ -e "$p" ] && echo "$p"; done; true', "sh", *places).stdout
    assert found == "", found


def symlink_zip(name, target):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.txt", b"fine")
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()


def tar_member(name, kind=tarfile.REGTYPE, linkname="", data=b""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.size = kind, linkname, 0o644, len(data)
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info, data


def raw_tar(*members, mode="w"):
    """A tar of exactly these (TarInfo, data) members, in order, with no directory entry
    added (tarfile writes names as given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:
        for info, data in (tar_member("ok.txt", data=b"fine"), *members):
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


BAD_ARCHIVES = {
    "zip_slip": lambda: (zip_of([("ok.txt", b"fine"), (f"../../../../{MARKER}-slip", b"escaped")]), f"{MARKER}-slip"),
    "zip_absolute": lambda: (zip_of([("ok.txt", b"fine"), (f"/tmp/{MARKER}-abs", b"escaped")]), f"{MARKER}-abs"),
    "zip_symlink": lambda: (symlink_zip(f"{MARKER}-zlink", "/etc/shadow"), f"{MARKER}-zlink"),
    "tar_slip": lambda: (raw_tar(tar_member(f"a/../../{MARKER}-tslip", data=b"escaped")), f"{MARKER}-tslip"),
    "tar_absolute": lambda: (raw_tar(tar_member(f"/etc/{MARKER}-tabs", data=b"escaped")), f"{MARKER}-tabs"),
    "tar_symlink": lambda: (raw_tar(tar_member(f"{MARKER}-tlink", tarfile.SYMTYPE, "/etc/shadow")), f"{MARKER}-tlink"),
    "tar_hard_link": lambda: (raw_tar(tar_member(f"{MARKER}-hard", tarfile.LNKTYPE, "ok.txt")), f"{MARKER}-hard"),
    "tar_device": lambda: (raw_tar(tar_member(f"{MARKER}-null", tarfile.CHRTYPE), mode="w:gz"), f"{MARKER}-null"),
    "tar_fifo": lambda: (raw_tar(tar_member(f"{MARKER}-fifo", tarfile.FIFOTYPE)), f"{MARKER}-fifo"),
}


@pytest.mark.parametrize("kind", BAD_ARCHIVES)
def test_an_archive_entry_that_is_not_a_plain_file_inside_is_refused_whole(server, machine, clean_machine, kind):
    archive, entry = BAD_ARCHIVES[kind]()

    response = post_form(server, script="print('ran')", archive=("upload", archive))

    assert entry in assert_error_body(response, 400)
    nothing_written(machine, server, [entry, "ok.txt"])


def zero_stream_zip(size, name="zeros"):
    buffer = io.BytesIO()
    block = bytes(MIB)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w") as member:
            for _ in range(size // MIB):
                member.write(block)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zip_bomb():
    """300 MiB of zeros deflated: about 300 KiB."""
    return zero_stream_zip(300 * MIB)


def refused_without_growing(server, machine, archive, limits=None):
    rss_before = server_rss_kib(machine, server)
    started = time.monotonic()
    response = post_form(server, script="print('ran')", archive=("upload", archive),
                         options={"limits": limits} if limits else None, wall_s=60)
    took = time.monotonic() - started
    grown_kib = server_rss_kib(machine, server) - rss_before
    assert grown_kib < 32 * 1024, f"the server grew by {grown_kib} KiB for one bomb"
    assert took < 30 * SLOWDOWN, took
    return response


def test_a_zip_bomb_is_refused_before_it_is_written(server, machine, clean_machine, zip_bomb):
    assert len(zip_bomb) < 2 * MIB
    for limits in (None, {"files_bytes": 256 * MIB}):
        response = refused_without_growing(server, machine, zip_bomb, limits)
        assert "files_bytes" in assert_error_body(response, 413)
    nothing_written(machine, server, [])


def test_a_zip_whose_headers_lie_about_the_size_is_refused(server, machine, clean_machine, zip_bomb):
    lying = bytearray(zip_bomb)
    # The member's uncompressed size claims 1000 bytes, in its local header (at the start)
    # and in its central directory entry (near the end); the data still inflates to 300 MiB.
    for at, offset in ((0, 22), (lying.rfind(b"PK\x01\x02"), 24)):
        assert at >= 0 and int.from_bytes(lying[at + offset : at + offset + 4], "little") == 300 * MIB
        lying[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")

    response = refused_without_growing(server, machine, bytes(lying))

    assert response.status_code in (400, 413), response.text[:500]
    assert_error_body(response, response.status_code)
    nothing_written(machine, server, [])


def test_a_tar_gz_bomb_is_refused_before_it_is_written(server, machine, clean_machine):
    buffer = io.BytesIO()
    size = 300 * MIB

    class Zeros(io.RawIOBase):
        left = size

        def readable(self):
            return True

        def readinto(self, target):
            n = min(len(target), self.left)
            target[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("zeros")
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros()))

    response = refused_without_growing(server, machine, buffer.getvalue())

    assert "files_bytes" in assert_error_body(response, 413)
    nothing_written(machine, server, [])


def test_a_zip_of_zip_bombs_is_unpacked_one_level_only(server, machine, clean_machine, zip_bomb):
    outer = zip_of([(f"layer{n}.zip", zip_bomb) for n in range(8)])
    code = "import json, os\nprint(json.dumps(sorted((n, os.path.getsize(n)) for n in os.listdir('.') if n.endswith('.zip'))))\n"

    response = post_form(server, script=code, archive=("upload", outer), options={"limits": LIMITS}, wall_s=WALL_S)

    assert response.status_code == 200, response.text[:500]
    run = response.json()
    assert run["status"] == "succeeded", run
    assert json.loads(run["stdout"]) == [[f"layer{n}.zip", len(zip_bomb)] for n in range(8)], run["stdout"]
