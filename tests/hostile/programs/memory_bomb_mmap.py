# Attack: one anonymous 8 GiB mapping (no Python allocator involved), touched page by page.
# Expected: `out_of_memory` at the memory limit: virtual size is free, resident is capped.
import mmap

MAP_NORESERVE = 0x4000  # Linux; the mmap module has no name for it before Python 3.13
area = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE)
for offset in range(0, len(area), mmap.PAGESIZE):
    area[offset] = 1
