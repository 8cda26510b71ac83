# Attack: spin on the CPU forever.
# Expected: SIGXCPU at the CPU-time limit (well before the wall limit): `timed_out`.
while True:
    pass
