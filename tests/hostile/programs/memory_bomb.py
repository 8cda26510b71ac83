# Attack: a growing list of 1 MiB bytearrays.
# Expected: `out_of_memory`, the unit killed by SIGKILL at the memory limit.
hog = []
while True:
    hog.append(bytearray(1 << 20))
