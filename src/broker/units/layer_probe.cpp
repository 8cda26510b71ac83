#include "broker/units/layer_probe.hpp"

#include "broker/units/unit_properties.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
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

def cgroup_tree_read_only():
    # mountinfo's fields: id, parent, device, root, mount point, the mount's own options, ...
    # Every mount at or below /sys/fs/cgroup counts, InaccessiblePaths='s over it too.
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return False
    tree = [m for m in mounts if m[4] == "/sys/fs/cgroup" or m[4].startswith("/sys/fs/cgroup/")]
    return bool(tree) and all("ro" in m[5].split(",") for m in tree)

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
report("protect_control_groups", cgroup_tree_read_only())
)PY";

// The layers read from the stop-post helper's record of the unit's cgroups, which the run
// has no say in.
constexpr std::array<std::string_view, 7> cgroupLayers{
    "memory_limit",  "tasks_limit", "cpu_quota",      "ip_address_deny",
    "device_policy", "memory_peak", "oom_kill_result"};

bool isCgroupLayer(const std::string& layer)
{
    return std::find(cgroupLayers.begin(), cgroupLayers.end(), layer) != cgroupLayers.end();
}

bool anyProgram(const std::optional<std::uint64_t>& count)
{
    return count.value_or(0) > 0;
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
                                                 "cgroups_hidden",   "protect_control_groups",
                                                 "memory_limit",     "tasks_limit",
                                                 "cpu_quota",        "ip_address_deny",
                                                 "device_policy",    "memory_peak",
                                                 "oom_kill_result"};
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
    const std::array<std::pair<std::string_view, bool>, cgroupLayers.size()> fromCgroup{{
        {"memory_limit", cgroup.memoryLimitBytes == std::uint64_t{limits.memoryMb} * bytesPerMb},
        {"tasks_limit", cgroup.tasksLimit == unitTasksMax(limits.tasks)},
        {"cpu_quota",
         cgroup.cpuQuotaUsec == std::uint64_t{limits.cpuPercent} * quotaUsecPerPercent},
        // IPAddressDeny=any: systemd's filter on both directions.
        {"ip_address_deny",
         anyProgram(cgroup.inetIngressPrograms) && anyProgram(cgroup.inetEgressPrograms)},
        // DevicePolicy=closed: a BPF device filter on cgroup v2, the devices controller on v1.
        {"device_policy",
         anyProgram(cgroup.devicePrograms) || cgroup.devicesRestricted.value_or(false)},
        // v2's own figures, not v1's look-alikes: memory.peak, and the oom_kill count systemd
        // reads for Result=oom-kill.
        {"memory_peak", cgroup.unifiedMemoryPeak.value_or(false)},
        {"oom_kill_result", cgroup.unifiedOomKillCount.value_or(false)},
    }};
    for (const auto& [layer, holds] : fromCgroup)
    {
        report[std::string(layer)] = holds;
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
