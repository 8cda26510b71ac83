# Attack: one single 100 MB write(2) to stdout.
# Expected: `output_limit_exceeded` with exactly output_bytes bytes kept, and the server's
# memory stays flat (it never holds more than the limit).
import os

os.write(1, b"x" * (100 * 1000 * 1000))
