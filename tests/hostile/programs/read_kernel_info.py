# Attack: read what helps a kernel exploit: symbol addresses, kernel memory, modules, keys,
# timers, kernel logs, the kernel image and its map.
# Expected: nothing readable (ENOENT: /proc shows processes only; EACCES elsewhere);
# `succeeded`.
import errno
import glob
import json


def attempt(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


paths = [
    "/proc/kallsyms",
    "/proc/kcore",
    "/proc/modules",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/iomem",
    "/proc/slabinfo",
    "/proc/sys/kernel/kptr_restrict",
    "/dev/kmsg",
    "/dev/mem",
    "/sys/kernel/debug/tracing/trace",
    "/sys/firmware/acpi/tables/DSDT",
]
paths += glob.glob("/boot/System.map*")[:2] + glob.glob("/boot/vmlinuz*")[:2]
print(json.dumps({path: attempt(path) for path in paths}), flush=True)
