# Attack: four processes spinning at once, to take every CPU of the host.
# Expected: the unit is held to its CPU quota (cpu_time_ms about cpu_percent of the wall
# time, not 4 CPUs' worth) and `timed_out` at the wall limit.
import os

for _ in range(3):
    if os.fork() == 0:
        break
while True:
    pass
