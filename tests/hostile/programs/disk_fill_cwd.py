# Attack: fill the working directory, file after file, until something gives.
# Expected: the run's writable space (disk_mb) gives: ENOSPC once the space holds disk_mb,
# not before (no file is capped on its own), and the host's file systems untouched; nothing
# is left after the run and the next run sees a clean slate.
import errno
import json
import os

CHUNK = b"f" * 65536
written = 0
try:
    for n in range(1 << 20):
        with open(os.path.join(".", f"fill-{n}"), "wb") as f:
            for _ in range(256):
                f.write(CHUNK)
                f.flush()
                written += len(CHUNK)
except OSError as error:
    print(json.dumps({"stopped": errno.errorcode.get(error.errno), "mib": written >> 20}))
