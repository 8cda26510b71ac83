# Attack: the classic fork bomb: every process forks forever and shrugs off EAGAIN.
# Expected: the task limit caps the processes (fork fails with EAGAIN), the run is
# `timed_out` at the wall limit, and no process of it is left afterwards.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
