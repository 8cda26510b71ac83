# Attack: start threads until the system says no.
# Expected: thread creation fails (EAGAIN: "can't start new thread") below the task
# limit; `succeeded`.
import json
import os
import threading
import time

started = 0
refusal = None
while refusal is None and started < 10000:
    try:
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        started += 1
    except RuntimeError as error:
        refusal = str(error)
print(json.dumps({"threads": started, "refusal": refusal}), flush=True)
os._exit(0)
