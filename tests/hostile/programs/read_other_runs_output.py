# Attack: read a concurrent run's output while it runs (argv: its run id and a marker it
# prints): in the server's state, through /proc fds, in shared directories.
# Expected: found nowhere; `succeeded`.
import glob
import json
import os
import sys

victim, marker = sys.argv[1], sys.argv[2].encode()
own_proc = f"/proc/{os.getpid()}/"  # our command line carries the marker
found = []
PLACES = ("/var/lib/pyrunner*/runs/*/*", "/var/lib/**", "/proc/[0-9]*/fd/*", "/tmp/**", "/var/tmp/**", "/dev/shm/**")
for pattern in PLACES:
    for path in glob.glob(pattern, recursive=True):
        if path.startswith(own_proc):
            continue
        try:
            with open(path, "rb") as f:
                if marker in f.read(1 << 22):
                    found.append(path)
        except OSError:
            pass
print(json.dumps({"victim": victim, "found": sorted(set(found))}), flush=True)
