# Attack: fill /dev/shm (one tmpfs for the whole host): file after file, each grown until
# the per-file cap (EFBIG) stops it.
# Expected: bounded (`out_of_memory`: shared memory is charged to the run); the files are
# removed with the run's dynamic user, the next run sees a clean slate.
import errno

CHUNK = b"s" * 16384
n = 0
while True:
    with open(f"/dev/shm/fill-{n}", "wb") as f:
        try:
            while True:
                f.write(CHUNK)
                f.flush()
        except OSError as error:
            if error.errno != errno.EFBIG:
                raise
    n += 1
