# Attack: load eBPF programs and maps (a rich kernel attack surface): bpf(BPF_MAP_CREATE)
# and bpf(BPF_PROG_LOAD) of a socket filter that returns 0.
# Expected: refused (EPERM); `succeeded`.
import ctypes
import errno
import json

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def syscall(number, *args):
    """Makes the raw x86_64 system call: "allowed", or the name of the errno it failed with."""
    args = [ctypes.c_long(arg) if isinstance(arg, int) else arg for arg in args]
    if libc.syscall(ctypes.c_long(number), *args) == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "allowed"


BPF_MAP_CREATE, BPF_PROG_LOAD = 0, 5
BPF_MAP_TYPE_ARRAY, BPF_PROG_TYPE_SOCKET_FILTER = 2, 1
map_attr = (ctypes.c_uint32 * 32)(BPF_MAP_TYPE_ARRAY, 4, 4, 1)
instructions = (ctypes.c_uint64 * 2)(0x00000000000000B7, 0x0000000000000095)  # r0 = 0; exit
license_text = ctypes.create_string_buffer(b"GPL")
prog_attr = (ctypes.c_uint64 * 16)()
prog_attr[0] = BPF_PROG_TYPE_SOCKET_FILTER | (2 << 32)
prog_attr[1] = ctypes.addressof(instructions)
prog_attr[2] = ctypes.addressof(license_text)
print(json.dumps({
    "map_create": syscall(321, BPF_MAP_CREATE, map_attr, ctypes.sizeof(map_attr)),
    "prog_load": syscall(321, BPF_PROG_LOAD, prog_attr, ctypes.sizeof(prog_attr)),
}), flush=True)
