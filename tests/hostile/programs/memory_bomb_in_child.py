# Attack: a child process eats the memory while its parent stays small, then the parent
# carries on as if nothing happened.
# Expected: `out_of_memory`, and the whole unit is killed (OOMPolicy=kill): the parent never
# prints "parent survived".
import os
import time

child = os.fork()
if child == 0:
    hog = []
    while True:
        hog.append(bytearray(1 << 20))
os.waitpid(child, 0)
time.sleep(0.5)
print("parent survived", flush=True)
