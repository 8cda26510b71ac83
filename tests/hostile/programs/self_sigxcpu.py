# Attack: send itself SIGXCPU at once, to pass a crash off as the CPU-time limit.
# Expected: `failed` with signal SIGXCPU: it used almost no CPU, so no limit ended it.
import os
import signal

os.kill(os.getpid(), signal.SIGXCPU)
