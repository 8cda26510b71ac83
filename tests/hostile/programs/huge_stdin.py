# Attack: a stdin close to the request limit (about 1.9 MB), to choke the server or the
# unit's StandardInputData=.
# Expected: `succeeded`, every byte delivered: the script prints its length and digest.
import hashlib
import sys

data = sys.stdin.buffer.read()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
