# Attack: write exactly as many bytes as the limit allows (argv[1]), hoping for an
# off-by-one either way.
# Expected: `succeeded`, not truncated, every byte kept.
import os
import sys

os.write(1, b"a" * int(sys.argv[1]))
