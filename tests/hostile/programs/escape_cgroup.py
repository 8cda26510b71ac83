# Attack: leave the run's cgroup (move itself to the root cgroup, where no limit applies) or
# raise its own limits in place (pids.max, memory limit, CPU quota).
# Expected: every write refused (the cgroup tree is read-only to the run); `succeeded`, and
# its cgroup is still the unit's.
import errno
import json


def attempt(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


own = {}
with open("/proc/self/cgroup") as f:
    for line in f:
        _, controllers, path = line.rstrip("\n").split(":", 2)
        for controller in controllers.split(",") or [""]:
            own[controller] = path
pid = str(__import__("os").getpid())
report = {
    "move_to_root_pids": attempt("/sys/fs/cgroup/pids/cgroup.procs", pid),
    "move_to_root_systemd": attempt("/sys/fs/cgroup/systemd/cgroup.procs", pid),
    "move_to_root_unified": attempt("/sys/fs/cgroup/unified/cgroup.procs", pid),
    "raise_pids_max": attempt(f"/sys/fs/cgroup/pids{own.get('pids', '/')}/pids.max", "max"),
    "raise_memory": attempt(f"/sys/fs/cgroup/memory{own.get('memory', '/')}/memory.limit_in_bytes", "-1"),
    "raise_cpu_quota": attempt(f"/sys/fs/cgroup/cpu{own.get('cpu', '/')}/cpu.cfs_quota_us", "-1"),
}
with open("/proc/self/cgroup") as f:
    report["still_in_unit"] = all("pyrunner-" in line for line in f if ":pids:" in line or ":name=systemd:" in line)
print(json.dumps(report), flush=True)
