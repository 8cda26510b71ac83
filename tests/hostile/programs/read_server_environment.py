# Attack: find the server's environment (argv[1]=argv[2] is set in it): in our own
# environment and in every process' /proc/PID/environ, visible or not.
# Expected: found nowhere; `succeeded`.
import json
import os
import sys

name, value = sys.argv[1], sys.argv[2].encode()
found = []
if name in os.environ:
    found.append("own environment")
for pid in range(1, 1 << 16):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            if value in f.read():
                found.append(f"/proc/{pid}/environ")
    except OSError:
        pass
print(json.dumps({"found": found}), flush=True)
