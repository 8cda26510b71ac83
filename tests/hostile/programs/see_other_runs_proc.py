# Attack: find a concurrent run's processes (argv[1] is its run id) through /proc: listed,
# opened by PID, or by their cgroup.
# Expected: no process but the run's own (itself and its parent, the unit's reaper) is
# visible; `succeeded`.
import json
import os
import sys

victim = sys.argv[1]
own = {os.getpid(), os.getppid()}
visible = sorted(int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in own)
victims = []
for pid in range(1, 1 << 16):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            if victim in f.read():
                victims.append(pid)
    except OSError:
        pass
print(json.dumps({"visible": visible, "victim_pids": victims}), flush=True)
