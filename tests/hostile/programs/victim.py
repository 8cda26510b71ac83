# Not an attack: the run others attack. VICTIM-CODE-9d41e2 marks its code; it reads a
# marker from stdin, prints a marker of its own (in no request), sleeps argv[1] seconds and
# says it got through.
# Expected: `succeeded`, whatever the other run does.
import hashlib
import sys
import time

sys.stdin.read()
print("victim-output-" + hashlib.sha256(b"pyrunner victim").hexdigest()[:16], flush=True)
time.sleep(float(sys.argv[1]))
print("victim done", flush=True)
