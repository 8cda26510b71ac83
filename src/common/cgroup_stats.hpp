#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// What the unit's own cgroup says once its processes are gone. It is written by the
// unit's privileged ExecStopPost helper, because on cgroup v1 an OOM kill is visible
// only there and the cgroup disappears with the unit.
struct CgroupStats
{
    std::optional<std::uint64_t> oomKills;
    std::optional<std::uint64_t> memoryPeakBytes;
    std::optional<std::uint64_t> cpuUsageUsec;
    // The limits the kernel applied, so the broker can see systemd really set them.
    std::optional<std::uint64_t> memoryLimitBytes;
    std::optional<std::uint64_t> tasksLimit;
    // CPU time allowed per 100 ms period, in microseconds.
    std::optional<std::uint64_t> cpuQuotaUsec;

    bool operator==(const CgroupStats&) const = default;
};

// "key value" lines; unknown keys and malformed lines are ignored.
std::string formatCgroupStats(const CgroupStats& stats);
CgroupStats parseCgroupStats(std::string_view text);

} // namespace pyrunner::core
