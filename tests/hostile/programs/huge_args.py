# Attack: a huge command line: a thousand arguments of a thousand bytes each (1 MB).
# Expected: `succeeded`, every argument delivered byte for byte: the script prints their
# count, total length and digest.
import hashlib
import sys

args = sys.argv[1:]
print(len(args), sum(map(len, args)), hashlib.sha256("\0".join(args).encode()).hexdigest(), flush=True)
