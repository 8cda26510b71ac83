# Attack: grow one file in scratch past the writable space, by writing and by seeking.
# Expected: writing stops with ENOSPC when the space (disk_mb) is full; a seek far past it
# fails with EFBIG (LimitFSIZE= is disk_mb: no file may outgrow the space); `succeeded`.
import errno
import json
import os

report = {}
with open("big", "wb") as f:
    try:
        while True:
            f.write(b"b" * 65536)
            f.flush()
    except OSError as error:
        report["write"] = errno.errorcode.get(error.errno)
report["mib"] = os.path.getsize("big") >> 20
os.remove("big")
try:
    with open("sparse", "wb") as f:
        f.seek(1 << 40)
        f.write(b"x")
    report["seek"] = "allowed"
except OSError as error:
    report["seek"] = errno.errorcode.get(error.errno)
print(json.dumps(report), flush=True)
