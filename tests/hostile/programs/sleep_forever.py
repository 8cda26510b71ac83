# Attack: sleep for eleven days; CPU-time limits do not catch a sleeper.
# Expected: `timed_out` at the wall limit, having used almost no CPU.
import time

time.sleep(10**6)
