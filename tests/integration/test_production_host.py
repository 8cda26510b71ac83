"""What a production host has and the nspawn machine lacks: systemd as PID 1 on the pure cgroup
v2 hierarchy (systemd's own OOM verdict, memory.peak, the BPF-based IP and device policies)
and a real disk under /var. Each test runs on both test hosts and asserts what is true of
the one it is on (docs/testing.md).
"""

import json
import time

import pytest

from deployment import ON_VM, STATE_DIR

pytestmark = pytest.mark.vm

MIB = 1024 * 1024
# Fills every place the run can write, in turns of 8 MiB, until one write fails; says so and
# holds the files while the test looks at the host's disk.
FILL_AND_HOLD = """
import errno, json, os, time
places = {"cwd": os.getcwd(), "tmp": "/tmp", "var_tmp": "/var/tmp", "dev_shm": "/dev/shm"}
block = b"x" * (1024 * 1024)
written = dict.fromkeys(places, 0)
failure = None
files = {name: open(os.path.join(place, f"fill-{name}"), "wb") for name, place in places.items()}
while failure is None:
    for place, f in files.items():
        try:
            for _ in range(8):
                f.write(block)
                f.flush()
                written[place] += 1
        except OSError as error:
            failure = errno.errorcode.get(error.errno, str(error))
            break
print(json.dumps({"written": written, "failure": failure}), flush=True)
time.sleep(60)
"""


def cgroup_v2(machine):
    return machine.run("stat", "-f", "-c", "%T", "/sys/fs/cgroup").stdout.strip() == "cgroup2fs"


def test_the_test_host_is_what_it_says(machine):
    # The VM is the production kind: systemd as PID 1 on cgroup v2 alone.
    assert cgroup_v2(machine) == ON_VM
    if ON_VM:
        assert machine.run("cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert machine.run("findmnt", "-n", "-o", "FSTYPE", "/").stdout.strip() == "ext4"


def test_300_mb_under_a_100_mb_limit_is_out_of_memory_as_systemd_itself_reports(server, machine):
    run = server.run("b = bytearray(300 * 1024 * 1024)\n", limits={"memory_mb": 100})

    assert run["status"] == "out_of_memory", run
    assert run["memory_peak_bytes"] is not None and run["memory_peak_bytes"] <= 100 * MIB, run
    # systemd logs the unit's end once its stop-post helper is done, after the verdict.
    deadline = time.monotonic() + 30
    while "Failed with result" not in (said := machine.journal("-u", run["unit"], "-o", "cat")):
        assert time.monotonic() < deadline, said
        time.sleep(0.5)
    # On v2 systemd itself reads memory.events and says so; on v1 it sees only a SIGKILL, and
    # the broker tells the OOM kill by the run's v1 memory cgroup instead.
    expected = "oom-kill" if cgroup_v2(machine) else "signal"
    assert f"Failed with result '{expected}'" in said, said


def disk_available(machine, path):
    return int(machine.run("df", "-B1", "--output=avail", path).stdout.split()[-1])


def test_a_run_filling_every_writable_place_leaves_the_host_disk_untouched(server, machine):
    before = {path: disk_available(machine, path) for path in ("/", "/var/tmp", STATE_DIR)}
    run_id = server.submit(FILL_AND_HOLD, limits={"disk_mb": 512, "memory_mb": 1024, "wall_time_s": 60})["id"]
    try:
        deadline = time.monotonic() + 90
        while not (stdout := server.get(f"/runs/{run_id}/stdout").text):
            run = server.get(f"/runs/{run_id}").json()
            assert run["status"] in ("queued", "running") and time.monotonic() < deadline, (run["status"], run["stderr"])
            time.sleep(0.5)
        seen = json.loads(stdout)
        after = {path: disk_available(machine, path) for path in before}
    finally:
        server.delete(f"/runs/{run_id}")

    assert seen["failure"] == "ENOSPC", seen
    assert all(seen["written"].values()), seen
    assert 500 <= sum(seen["written"].values()) <= 512, seen
    # Half a gigabyte written, while it still exists, and the host's disk did not notice it.
    for path, available in before.items():
        assert available - after[path] < 32 * MIB, (path, available, after[path])


@pytest.mark.skipif(not ON_VM, reason="only the VM has the package's services installed "
                                      "(packaging/test boots them too, without a kill)")
def test_a_run_outlives_the_installed_services_being_killed_and_restarted(machine):
    # The installed service refuses requests without a token: one of this test's own, made as
    # an operator would, in the tokens file the service reads.
    tenant = "killed_services"
    token = machine.run("pyrunnerd", "token", "create", tenant, "--admin").stdout.strip()

    def call(*args):
        answer = machine.run("curl", "-sS", "--max-time", "30", "-H", f"Authorization: Bearer {token}", *args)
        return json.loads(answer.stdout)

    try:
        run = call("-H", "Content-Type: application/json", "-d",
                   '{"code": "import time\\ntime.sleep(8)\\nprint(42)", "wait": false}',
                   "http://127.0.0.1:8080/run-json/")
        machine.run("systemctl", "kill", "--signal=SIGKILL", "pyrunner.service", "pyrunner-broker.service")
        machine.run("systemctl", "restart", "pyrunner-broker.service", "pyrunner.service", timeout_s=180)

        deadline = time.monotonic() + 60
        while (ended := call(f"http://127.0.0.1:8080/runs/{run['id']}"))["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, ended
            time.sleep(1)
    finally:
        machine.run("pyrunnerd", "token", "revoke", tenant, check=False)
    assert ended["status"] == "succeeded", ended
    assert ended["stdout"] == "42\n", ended
