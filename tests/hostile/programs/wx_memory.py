# Attack: write machine code into memory and run it: a writable and executable mapping, and
# a writable one turned executable with mprotect (what JITs and shellcode loaders do).
# Expected: both refused with EPERM (MemoryDenyWriteExecute: no mapping is ever writable
# and executable, at once or in turn); `succeeded`.
import ctypes
import errno
import json
import mmap

CODE = b"\xb8\x2a\x00\x00\x00\xc3"  # x86_64: mov eax, 42; ret
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def call(area):
    address = ctypes.addressof(ctypes.c_char.from_buffer(area))
    return ctypes.CFUNCTYPE(ctypes.c_int)(address)()


def writable_and_executable():
    area = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    area.write(CODE)
    return call(area)


def written_then_executable():
    area = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    area.write(CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(area))
    if libc.mprotect(address, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    return call(area)


def attempt(action):
    try:
        return action()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


print(json.dumps({
    "wx_mapping": attempt(writable_and_executable),
    "mprotect_to_exec": attempt(written_then_executable),
}), flush=True)
