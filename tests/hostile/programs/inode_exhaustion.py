# Attack: create empty files in /tmp until the filesystem runs out of inodes (the run's
# writable space, a tmpfs of its own), two system calls a file, as fast as Python goes.
# Expected: bounded by the memory limit first (inodes are kernel memory charged to the
# run): `out_of_memory`; nothing left afterwards.
import os

n = 0
while True:
    os.close(os.open(f"/tmp/i{n}", os.O_CREAT | os.O_WRONLY, 0o600))
    n += 1
