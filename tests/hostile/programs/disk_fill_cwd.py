# Attack: fill the working directory: file after file, each grown until the per-file cap
# (EFBIG) stops it, until something gives.
# Expected: bounded: the scratch space is memory charged to the run, so it ends
# `out_of_memory`; nothing is left after the run and the next run sees a clean slate.
import errno

CHUNK = b"c" * 16384
n = 0
while True:
    with open(f"fill-{n}", "wb") as f:
        try:
            while True:
                f.write(CHUNK)
                f.flush()
        except OSError as error:
            if error.errno != errno.EFBIG:
                raise
    n += 1
