# Attack: steal a concurrent run's code and stdin (argv: its run id, then markers of its
# code and stdin) wherever they might lie: systemd's unit files, credentials, the server's
# state, /proc, the shared temporary directories.
# Expected: found nowhere; `succeeded`.
import base64
import binascii
import glob
import json
import os
import sys

victim, markers = sys.argv[1], [marker.encode() for marker in sys.argv[2:]]
# Our own command line, and our reaper's, carry the markers too (they are our arguments).
own_proc = (f"/proc/{os.getpid()}/", f"/proc/{os.getppid()}/")


def readable(path):
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 22)
    except OSError:
        return b""
    # systemd writes StandardInputData= in base64.
    for line in data.splitlines():
        if line.startswith(b"StandardInputData="):
            try:
                data += b"\n" + base64.b64decode(line.split(b"=", 1)[1])
            except binascii.Error:
                pass
    return data


found = []
patterns = [
    "/run/systemd/transient/*",
    "/run/systemd/units/*",
    "/run/credentials/*/*",
    "/var/lib/pyrunner*/runs/*/*",
    "/proc/[0-9]*/cmdline",
    "/proc/[0-9]*/environ",
    "/tmp/**",
    "/var/tmp/**",
    "/dev/shm/**",
]
for pattern in patterns:
    for path in glob.glob(pattern, recursive=True):
        if path.startswith(own_proc) or not os.path.isfile(path):
            continue
        data = readable(path)
        found += [path for marker in markers if marker in data]
print(json.dumps({"victim": victim, "found": sorted(set(found))}), flush=True)
