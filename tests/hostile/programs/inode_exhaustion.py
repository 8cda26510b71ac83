# Attack: create empty files in /tmp until the filesystem runs out of inodes (the run's
# writable space, a tmpfs of its own).
# Expected: bounded by the memory limit first (inodes are kernel memory charged to the
# run): `out_of_memory`; nothing left afterwards.
n = 0
while True:
    open(f"/tmp/i{n}", "w").close()
    n += 1
