# Attack: the classic daemon escape: fork, setsid, fork again, ignore SIGHUP/SIGTERM, and
# let the original process exit at once.
# Expected: `succeeded` (the main process exits 0), and the grandchild dies with the unit's
# cgroup: no process of the run is left.
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.chdir("/")
        time.sleep(10**6)
    os._exit(0)
time.sleep(0.2)
print("daemonized", flush=True)
