# Attack: lift its own resource limits (file size, CPU time, open files, processes), then
# flood stdout past the output limit.
# Expected: every raise is refused, and the flood is still cut: `output_limit_exceeded`.
import json
import resource
import sys

results = {}
for name in ("RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE"):
    limit = getattr(resource, name)
    try:
        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        results[name] = "allowed"
    except (OSError, ValueError) as error:
        results[name] = type(error).__name__
print(json.dumps(results), flush=True)
sys.stdout.write("z" * (1 << 20))
