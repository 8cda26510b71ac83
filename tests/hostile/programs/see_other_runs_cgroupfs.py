# Attack: find a concurrent run (argv[1] is its run id) in the cgroup filesystem: its unit's
# cgroup, the PIDs in it, its memory use.
# Expected: nothing of the other run is visible; `succeeded`.
import glob
import json
import sys

victim = sys.argv[1]
seen = sorted(path for path in glob.glob("/sys/fs/cgroup/**/pyrunner.slice/*", recursive=True) if victim in path)
pids = []
for path in seen:
    try:
        with open(path + "/cgroup.procs") as f:
            pids += f.read().split()
    except OSError:
        pass
print(json.dumps({"paths": seen[:10], "pids": sorted(set(pids))}), flush=True)
