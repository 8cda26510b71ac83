# Attack: write forever without a single newline (a line-based capture would buffer it all).
# Expected: `output_limit_exceeded`, stdout_truncated, exactly output_bytes bytes kept.
import sys

while True:
    sys.stdout.write("y" * 4096)
