# Attack: make itself unkillable by the OOM killer (oom_score_adj -1000), then eat memory.
# Expected: lowering oom_score_adj is refused (EACCES), and the memory bomb still ends
# `out_of_memory`.
import errno

try:
    with open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("-1000")
    print("oom_score_adj lowered", flush=True)
except OSError as error:
    print("refused", errno.errorcode.get(error.errno), flush=True)
hog = []
while True:
    hog.append(bytearray(1 << 20))
