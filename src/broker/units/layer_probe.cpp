#include "broker/units/layer_probe.hpp"

#include "broker/units/unit_properties.hpp"
#include "common/text.hpp"

#include <array>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
// cgroup CPU quotas are per 100 ms period: 1 % of one CPU is 1000 µs of it.
constexpr std::uint64_t quotaUsecPerPercent = 1000;

constexpr std::string_view probeCode = R"PY(
import mmap, os, socket

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
report("cgroups_hidden", refused(lambda: os.listdir("/sys/fs/cgroup")))
)PY";

bool isCgroupLayer(const std::string& layer)
{
    return layer == "memory_limit" || layer == "tasks_limit" || layer == "cpu_quota";
}

} // namespace

std::string_view layerProbeCode()
{
    return probeCode;
}

const std::vector<std::string>& probedLayers()
{
    static const std::vector<std::string> layers{"dynamic_user",     "no_new_privileges",
                                                 "no_capabilities",  "seccomp",
                                                 "read_only_system", "private_network",
                                                 "no_inet_sockets",  "private_devices",
                                                 "proc_invisible",   "memory_deny_write_execute",
                                                 "cgroups_hidden",   "memory_limit",
                                                 "tasks_limit",      "cpu_quota"};
    return layers;
}

LayerReport layerReport(std::string_view probeOutput, const core::CgroupStats& cgroup,
                        const core::Limits& limits)
{
    LayerReport report;
    for (const auto& layer : probedLayers())
    {
        report[layer] = false;
    }
    const std::array<std::pair<const char*, bool>, 3> fromCgroup{{
        {"memory_limit", cgroup.memoryLimitBytes == std::uint64_t{limits.memoryMb} * bytesPerMb},
        {"tasks_limit", cgroup.tasksLimit == unitTasksMax(limits.tasks)},
        {"cpu_quota",
         cgroup.cpuQuotaUsec == std::uint64_t{limits.cpuPercent} * quotaUsecPerPercent},
    }};
    for (const auto& [layer, holds] : fromCgroup)
    {
        report[layer] = holds;
    }
    core::forEachLine(probeOutput, [&report](std::string_view line) {
        const auto [name, answer] = core::splitOnce(line, ' ');
        const auto it = report.find(std::string(name));
        if (it != report.end() && !isCgroupLayer(it->first))
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
