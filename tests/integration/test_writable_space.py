"""A run's writable space: one bound for every place it can write, and a home of its own.

The working directory, /tmp, /var/tmp, /dev/shm and the run's home are one file system of
`disk_mb`, so they fill up together; a script that fills it gets ENOSPC, and no file in it is
capped on its own (the output cap is for stdout and stderr).
"""

import json

import pytest

pytestmark = pytest.mark.vm

MIB = 1024 * 1024

# Writes `share` MiB into each place in turn, until one write fails; prints what each got.
FILL = """
import errno, json, os, sys
share = int(sys.argv[1])
places = ["/tmp", "/var/tmp", "/dev/shm", os.environ["HOME"], os.getcwd()]
block = b"x" * (1024 * 1024)
written, failure = {}, None
for n, place in enumerate(places):
    written[place] = 0
    try:
        with open(os.path.join(place, f"fill-{n}"), "wb") as f:
            for _ in range(share):
                f.write(block)
                f.flush()
                written[place] += 1
    except OSError as error:
        failure = errno.errorcode.get(error.errno, str(error))
        break
print(json.dumps({"written": written, "failure": failure,
                  "devices": sorted({os.stat(p).st_dev for p in places})}))
"""


def test_every_place_a_run_writes_shares_one_space_of_disk_mb(server):
    run = server.run(FILL, args=["30"], limits={"disk_mb": 64, "memory_mb": 512})

    assert run["status"] == "succeeded", run
    seen = json.loads(run["stdout"])
    assert len(seen["devices"]) == 1, seen
    assert seen["failure"] == "ENOSPC", seen
    # Two places filled, the third stopped short: 64 MiB in all, not 64 for each.
    assert 60 <= sum(seen["written"].values()) <= 64, seen


def test_a_run_fills_its_space_with_enospc_and_ends_as_its_script_does(server):
    script = "open('/tmp/big', 'wb').write(b'x' * (80 * 1024 * 1024))\n"
    run = server.run(script, limits={"disk_mb": 64, "memory_mb": 512})

    assert run["status"] == "failed", run
    assert "No space left on device" in run["stderr"], run


def test_a_file_larger_than_the_output_cap_is_written_whole(server):
    script = (
        "import os\n"
        "with open('/tmp/data.csv', 'wb') as f:\n"
        "    f.write(b'1,2,3\\n' * (3 * 1024 * 1024))\n"
        "print(os.path.getsize('/tmp/data.csv'))\n"
    )
    run = server.run(script, limits={"output_bytes": 1024})

    assert run["status"] == "succeeded", run
    assert run["stdout"] == f"{18 * MIB}\n", run


def test_the_output_cap_still_holds_for_stdout(server):
    run = server.run("import sys\nsys.stdout.write('y' * 100000)\n", limits={"output_bytes": 1000})

    assert run["status"] == "output_limit_exceeded", run
    assert run["stdout"] == "y" * 1000, run


def test_a_run_that_floods_stdout_ends_at_its_cap_and_keeps_only_that(server, machine):
    flood = "import sys\nwhile True:\n    sys.stdout.write('z' * 65536)\n"
    run = server.run(flood, limits={"output_bytes": 1000, "wall_time_s": 30})

    assert run["status"] == "output_limit_exceeded", run
    assert run["stdout"] == "z" * 1000, run
    # Cut back to the cap and one byte, the mark of "past it": not left to grow to disk_mb.
    stored = machine.run("stat", "-c", "%s", f"{server.state_dir}/runs/{run['id']}/stdout")
    assert stored.stdout.strip() == "1001", stored


HOME = """
import getpass, grp, json, os, pathlib, pwd, tempfile
home = pathlib.Path.home()
me = pwd.getpwuid(os.getuid())
(home / ".cache").mkdir()
(home / ".cache" / "probe").write_text("cached")
print(json.dumps({
    "home": str(home),
    "env_home": os.environ.get("HOME"),
    "owner_is_me": home.stat().st_uid == os.getuid(),
    "private": oct(home.stat().st_mode & 0o777),
    "cached": (home / ".cache" / "probe").read_text(),
    "tempdir": tempfile.gettempdir(),
    "name": me.pw_name,
    "getuser": getpass.getuser(),
    "by_name": pwd.getpwnam(me.pw_name).pw_uid == os.getuid(),
    "passwd_home": me.pw_dir,
    "group": grp.getgrgid(os.getgid()).gr_name,
    "expanded": os.path.expanduser("~"),
}))
"""


def test_a_run_has_a_name_and_a_private_writable_home_that_goes_with_it(server):
    first = server.run(HOME)
    second = server.run(HOME)

    for run in (first, second):
        assert run["status"] == "succeeded", run
        seen = json.loads(run["stdout"])
        assert seen["env_home"] == seen["home"], seen
        assert seen["owner_is_me"], seen
        assert seen["private"] == "0o700", seen
        assert seen["cached"] == "cached", seen
        assert seen["tempdir"] == "/tmp", seen
        # A name and a group the run can look up, as on any host.
        assert seen["name"] == seen["getuser"] == seen["group"], seen
        assert seen["by_name"], seen
        assert seen["passwd_home"] == seen["home"] == seen["expanded"], seen
    # The second run's mkdir would have failed had the first run's home been left to it.
