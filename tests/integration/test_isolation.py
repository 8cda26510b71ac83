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
