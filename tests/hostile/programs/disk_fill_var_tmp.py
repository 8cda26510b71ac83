# Attack: fill /var/tmp (the temporary directory meant to survive reboots): file after
# file, each grown until the per-file cap (EFBIG) stops it.
# Expected: bounded (`out_of_memory` here, where /var/tmp is memory charged to the run);
# nothing left, the next run sees a clean slate.
import errno

CHUNK = b"v" * 16384
n = 0
while True:
    with open(f"/var/tmp/fill-{n}", "wb") as f:
        try:
            while True:
                f.write(CHUNK)
                f.flush()
        except OSError as error:
            if error.errno != errno.EFBIG:
                raise
    n += 1
