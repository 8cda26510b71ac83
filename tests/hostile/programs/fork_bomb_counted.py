# Attack: fork children that sleep until there is no room left, and report the refusal.
# Expected: fork fails with EAGAIN below the task limit; `succeeded`; the sleeping
# children die with the unit.
import errno
import json
import os
import time

forked = 0
refusal = None
while refusal is None and forked < 10000:
    try:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        forked += 1
    except OSError as error:
        refusal = errno.errorcode.get(error.errno, str(error))
print(json.dumps({"forked": forked, "refusal": refusal}), flush=True)
os._exit(0)
