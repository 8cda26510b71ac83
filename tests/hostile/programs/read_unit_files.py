# Attack: read systemd's unit files, which spell out the services' settings: the server's
# (with its environment; argv[1] is a value set there) and the runs' own transient units.
# Expected: the server's secret is found in none of them; `succeeded`.
import glob
import json
import os
import sys

value = sys.argv[1].encode()
# Our own unit spells out our own arguments, the value included; our cgroup is named after it
# in every hierarchy systemd manages, whichever line of /proc/self/cgroup comes first.
with open("/proc/self/cgroup", encoding="utf-8") as cgroup:
    me = next((os.path.basename(line.strip()) for line in cgroup
               if line.strip().endswith(".service")), "?")
found = []
for pattern in (
    "/run/systemd/transient/*",
    "/run/systemd/system/**",
    "/etc/systemd/system/**",
    "/usr/lib/systemd/system/pyrunner*",
    "/run/systemd/generator*/**",
):
    for path in glob.glob(pattern, recursive=True):
        if me in path:
            continue
        try:
            with open(path, "rb") as f:
                if value in f.read():
                    found.append(path)
        except OSError:
            pass
print(json.dumps({"found": sorted(found)}), flush=True)
