# Attack: open files until the process runs out of descriptors.
# Expected: EMFILE at the unit's LimitNOFILE (1024), `succeeded`.
import errno
import json
import os

opened = []
refusal = None
while refusal is None and len(opened) < 100000:
    try:
        opened.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as error:
        refusal = errno.errorcode.get(error.errno, str(error))
print(json.dumps({"opened": len(opened), "refusal": refusal}), flush=True)
