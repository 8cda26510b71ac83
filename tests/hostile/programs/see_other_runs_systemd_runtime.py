# Attack: find a concurrent run (argv[1] is its run id) in systemd's runtime directory:
# unit files, invocation links, dynamic users.
# Expected: nothing of the other run is visible; `succeeded`.
import json
import os
import sys

victim = sys.argv[1]
seen = []
for directory, _dirs, files in os.walk("/run/systemd"):
    seen += [os.path.join(directory, name) for name in files if victim in name]
print(json.dumps({"paths": sorted(seen)}), flush=True)
