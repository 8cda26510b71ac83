# Attack: spin forever and ignore SIGXCPU, the soft CPU-time limit's warning.
# Expected: SIGKILL at the hard CPU-time limit a second later: `timed_out`.
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass
