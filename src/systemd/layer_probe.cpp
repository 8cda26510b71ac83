#include "systemd/layer_probe.hpp"

#include "core/text.hpp"

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
// cgroup CPU quotas are per 100 ms period: 1 % of one CPU is 1000 µs of it.
constexpr std::uint64_t quotaUsecPerPercent = 1000;

constexpr std::string_view probeCode = R"PY(
import errno, mmap, os, socket, sys

want_memory, want_tasks, want_quota = sys.argv[1:4]

def report(name, holds):
    print(name, "yes" if holds else "no", flush=True)

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    return None

def refused(action):
    try:
        action()
    except OSError:
        return True
    return False

def cgroup_value(controller, v1_file, v2_file):
    unified = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return read(f"/sys/fs/cgroup/{controller}{path}/{v1_file}")
            if controllers == "":
                unified = path
    if unified is None:
        return None
    root = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    return read(f"{root}{unified}/{v2_file}")

def read(path):
    try:
        with open(path) as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return None

def interfaces():
    # /proc/self/net shows the reader's own network namespace (unlike /sys/class/net).
    try:
        with open("/proc/self/net/dev") as f:
            return sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    except OSError:
        return None

def write_etc():
    open("/etc/pyrunner-probe", "w")

def wx_mapping():
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)

report("dynamic_user", 61184 <= os.getuid() <= 65519)
report("no_new_privileges", status("NoNewPrivs") == "1")
report("no_capabilities", int(status("CapBnd") or "1", 16) == 0)
report("seccomp", status("Seccomp") == "2")
report("read_only_system", refused(write_etc))
report("private_network", interfaces() == ["lo"])
report("no_inet_sockets", refused(lambda: socket.socket(socket.AF_INET)))
report("private_devices", not os.path.exists("/dev/mem") and not os.path.exists("/dev/kmsg"))
report("proc_invisible", not os.path.exists("/proc/1"))
report("memory_deny_write_execute", refused(wx_mapping))
report("memory_limit", cgroup_value("memory", "memory.limit_in_bytes", "memory.max") == want_memory)
report("tasks_limit", cgroup_value("pids", "pids.max", "pids.max") == want_tasks)
report("cpu_quota", cgroup_value("cpu", "cpu.cfs_quota_us", "cpu.max") == want_quota)
)PY";

} // namespace

std::string_view layerProbeCode()
{
    return probeCode;
}

std::vector<std::string> layerProbeArgs(const core::Limits& limits)
{
    return {std::to_string(std::uint64_t{limits.memoryMb} * bytesPerMb),
            std::to_string(limits.tasks),
            std::to_string(std::uint64_t{limits.cpuPercent} * quotaUsecPerPercent)};
}

const std::vector<std::string>& probedLayers()
{
    static const std::vector<std::string> layers{
        "dynamic_user",     "no_new_privileges",         "no_capabilities", "seccomp",
        "read_only_system", "private_network",           "no_inet_sockets", "private_devices",
        "proc_invisible",   "memory_deny_write_execute", "memory_limit",    "tasks_limit",
        "cpu_quota"};
    return layers;
}

LayerReport parseLayerReport(std::string_view text)
{
    LayerReport report;
    for (const auto& layer : probedLayers())
    {
        report[layer] = false;
    }
    core::forEachLine(text, [&report](std::string_view line) {
        const auto [name, answer] = core::splitOnce(line, ' ');
        const auto it = report.find(std::string(name));
        if (it != report.end())
        {
            it->second = answer == "yes";
        }
    });
    return report;
}

std::vector<std::string> missingLayers(const LayerReport& report)
{
    std::vector<std::string> missing;
    for (const auto& [layer, holds] : report)
    {
        if (!holds)
        {
            missing.push_back(layer);
        }
    }
    return missing;
}

} // namespace pyrunner::systemd
