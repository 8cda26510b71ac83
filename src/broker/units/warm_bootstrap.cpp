#include "broker/units/warm_bootstrap.hpp"

#include "broker/units/unit_properties.hpp"

#include <cstddef>
#include <cstdint>

namespace pyrunner::systemd
{
namespace
{

constexpr std::string_view bootstrap = R"python(# pyrunner warm unit: one run, then gone.
import builtins
import gc
import io
import os
import resource
import struct
import sys
import traceback

# What scripts import most; importing them here is the time a warm run saves.
for _name in ("collections", "csv", "dataclasses", "datetime", "decimal", "enum", "functools",
              "heapq", "itertools", "json", "math", "operator", "pathlib", "random", "re",
              "statistics", "string", "textwrap", "time", "traceback", "typing"):
    __import__(_name)


def _import_quietly(names):
    # The environment's own common modules. What one prints as it loads (fontconfig's
    # complaints, say) is not the run's output, and one that fails is left for the run,
    # which then sees the real error.
    saved = os.dup(1), os.dup(2)
    null = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    try:
        for name in names:
            try:
                __import__(name)
            except BaseException:
                pass
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


# After the handover path, the script's path and the ready FIFO's.
_import_quietly(sys.argv[4:])
# Out of the collector's sight: a process the run forks then shares these pages instead of
# copying each one a collection touches, as a cold interpreter's children would not have to.
gc.freeze()
# Ready: the broker, which holds the FIFO's read end, sees it hang up once this closes it,
# and only then offers the unit to a run, so that no run waits for these imports or is
# counted their CPU time.
os.close(os.open(sys.argv[3], os.O_WRONLY | os.O_CLOEXEC))


def _read_exactly(fd, size):
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            # The broker went away before handing a run over: nothing to do.
            raise SystemExit(0)
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_run():
    # The handover FIFO, which the broker holds open: opening it does not wait.
    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CLOEXEC)
    magic, size = struct.unpack("<4sQ", _read_exactly(fd, 12))
    if magic != b"PYR1":
        raise SystemExit(0)
    data = _read_exactly(fd, size)
    os.close(fd)
    cpu, file_size, tasks = struct.unpack_from("<QQQ", data, 0)
    at = 24
    fields = []
    for _ in range(2):
        (size,) = struct.unpack_from("<I", data, at)
        fields.append(data[at + 4:at + 4 + size])
        at += 4 + size
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    args = []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, at)
        args.append(data[at + 4:at + 4 + size])
        at += 4 + size
    return cpu, file_size, tasks, fields[0], fields[1], args


def _stdin_from(data):
    # The cold path reads a regular file or /dev/null; a memfd reads (and seeks) the same.
    if data:
        fd = os.memfd_create("stdin")
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    else:
        fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    old = sys.stdin
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "rb", closefd=False)),
        encoding=old.encoding, errors=old.errors, line_buffering=old.line_buffering)


def _prepare():
    cpu, file_size, tasks, code, stdin, args = _read_run()
    # Before the file size limit, which would cut the stdin memfd short too.
    _stdin_from(stdin)
    # The limit counts from the handover, as the run's cpu_time_ms does: the pool's imports
    # are not the run's. (Where they are slow, as on an emulated CPU, they would otherwise
    # take most of a one-second limit.) RLIMIT_CPU is in whole seconds: rounded up, so that
    # the run never gets less than its limit. Within the unit's hard limit, the operator's
    # maximum, which no process can raise.
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    ceiling = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if ceiling == resource.RLIM_INFINITY:
        ceiling = cpu + spent + 1
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu + spent, ceiling), min(cpu + spent + 1, ceiling)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))
    # The cold path's script, which the broker has filled with the same code before the
    # handover: __file__, sys.argv[0] and tracebacks read the same, and what opens the file
    # again (multiprocessing's spawn, inspect) finds it.
    path = sys.argv[2]
    sys.argv = [path] + [os.fsdecode(arg) for arg in args]
    compiled = compile(code, path, "exec", dont_inherit=True)
    fresh = {"__name__": "__main__", "__doc__": None, "__package__": None, "__loader__": None,
             "__spec__": None, "__file__": path, "__cached__": None, "__builtins__": builtins}
    return compiled, fresh


def _become(compiled, fresh, sys=sys, traceback=traceback):
    # __main__ is this module: the run gets its namespace emptied of the bootstrap, so that
    # pickle and friends find the run's own names in __main__. What this function needs
    # afterwards it holds as its own locals.
    namespace = globals()
    namespace.clear()
    namespace.update(fresh)
    try:
        exec(compiled, namespace)
    except SystemExit:
        raise
    except BaseException as error:
        # As the interpreter reports an uncaught exception, without this frame.
        error.with_traceback(error.__traceback__.tb_next)
        if sys.excepthook is sys.__excepthook__:
            traceback.print_exception(type(error), error, error.__traceback__)
        else:
            sys.excepthook(type(error), error, error.__traceback__)
        raise SystemExit(1)


_become(*_prepare())
)python";

// The bootstrap unpacks "<I" and "<Q": little-endian whatever the host's order.
template <typename Unsigned> void appendLittleEndian(std::string& out, Unsigned value)
{
    for (std::size_t byte = 0; byte < sizeof value; ++byte)
    {
        out.push_back(static_cast<char>((value >> (8 * byte)) & 0xFFU));
    }
}

void appendBytes(std::string& out, const std::string& bytes)
{
    appendLittleEndian(out, static_cast<std::uint32_t>(bytes.size()));
    out += bytes;
}

} // namespace

std::string_view warmBootstrapCode()
{
    return bootstrap;
}

std::string handoverMessage(const std::string& code, const std::string& stdinData,
                            const std::vector<std::string>& args, const core::Limits& limits)
{
    std::string out;
    appendLittleEndian<std::uint64_t>(out, limits.cpuTimeS);
    appendLittleEndian<std::uint64_t>(out, fileSizeLimit(limits));
    // The unit's process count, as for a cold run: the reaper, this process's parent, counts.
    appendLittleEndian<std::uint64_t>(out, unitTasksMax(limits.tasks));
    appendBytes(out, code);
    appendBytes(out, stdinData);
    appendLittleEndian(out, static_cast<std::uint32_t>(args.size()));
    for (const auto& arg : args)
    {
        appendBytes(out, arg);
    }
    // Framed, not ended by closing: the broker keeps the FIFO open while the unit lives.
    std::string framed = "PYR1";
    appendLittleEndian<std::uint64_t>(framed, out.size());
    return framed + out;
}

} // namespace pyrunner::systemd
