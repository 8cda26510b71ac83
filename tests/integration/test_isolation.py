"""Each run starts from a clean slate and sees nothing of the server or of earlier runs."""

import json

LEAVE_TRACES = """
import os
with open("left-in-cwd.txt", "w") as f:
    f.write("trace")
with open("/tmp/left-in-tmp.txt", "w") as f:
    f.write("trace")
print(os.getcwd())
"""

LOOK_FOR_TRACES = """
import json, os
print(json.dumps({
    "cwd": os.path.exists("left-in-cwd.txt"),
    "tmp": os.path.exists("/tmp/left-in-tmp.txt"),
    "cwd_entries": sorted(os.listdir(".")),
}))
"""


def test_next_run_sees_no_file_of_the_previous_one(server):
    first = server.run(LEAVE_TRACES)
    assert first["status"] == "succeeded", first

    second = server.run(LOOK_FOR_TRACES)

    assert second["status"] == "succeeded", second
    seen = json.loads(second["stdout"])
    assert seen["cwd"] is False and seen["tmp"] is False, seen
    assert "left-in-cwd.txt" not in seen["cwd_entries"]


def test_run_does_not_inherit_the_server_environment(server):
    run = server.run("import json, os\nprint(json.dumps(dict(os.environ)))\n")

    assert run["status"] == "succeeded", run
    environment = json.loads(run["stdout"])
    name, value = server.secret
    assert name not in environment, environment
    assert value not in json.dumps(environment)


HOLD_SHARED_MEMORY = """
import os, time
open("/dev/shm/held-by-another-run", "w").write("mine")
time.sleep(3)
print(sorted(os.listdir("/dev/shm")))
"""

WATCH_SHARED_MEMORY = """
import os, time
seen = set()
for _ in range(40):
    seen.update(os.listdir("/dev/shm"))
    time.sleep(0.1)
print(sorted(seen))
"""


def test_a_run_sees_nothing_in_dev_shm_of_a_run_beside_it(server):
    holder = server.submit(HOLD_SHARED_MEMORY)
    server.wait_until_running(holder["id"])

    # Watches for 4 s, while the holder keeps its file for 3 s from its start.
    watcher = server.run(WATCH_SHARED_MEMORY)
    held = server.wait_until_final(holder["id"])

    assert held["stdout"] == "['held-by-another-run']\n", held
    assert watcher["stdout"] == "[]\n", watcher
