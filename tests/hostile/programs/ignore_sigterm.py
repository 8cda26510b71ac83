# Attack: ignore every catchable stop signal, then sleep.
# Expected: still killed at the wall limit (SIGKILL cannot be ignored): `timed_out`,
# within the wall limit plus the short stop timeout.
import signal
import time

for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGTSTP"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
print("ignoring stop signals", flush=True)
time.sleep(10**6)
