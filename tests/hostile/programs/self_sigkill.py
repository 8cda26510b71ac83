# Attack: kill itself with SIGKILL, hoping to pass for a limit kill (out of memory, time).
# Expected: `failed` with signal SIGKILL: no limit was reached; what it printed is kept.
import os
import signal

print("before the kill", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
