# Attack: flood stderr while keeping stdout small.
# Expected: `output_limit_exceeded`, stderr_truncated but not stdout_truncated; stdout intact.
import sys

print("stdout stays small", flush=True)
while True:
    sys.stderr.write("e" * 4096)
