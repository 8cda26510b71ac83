# Attack: grow one file in scratch far past the output limit, by writing and by seeking.
# Expected: both stop at output_bytes + 1 bytes with EFBIG (LimitFSIZE covers every file the
# run writes); `succeeded`.
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
report["size"] = os.path.getsize("big")
try:
    with open("sparse", "wb") as f:
        f.seek(1 << 40)
        f.write(b"x")
    report["seek"] = "allowed"
except OSError as error:
    report["seek"] = errno.errorcode.get(error.errno)
print(json.dumps(report), flush=True)
