#include "common/cgroup_stats.hpp"

#include "common/text.hpp"

#include <array>
#include <utility>

namespace pyrunner::core
{
namespace
{

using Figure = std::optional<std::uint64_t> CgroupStats::*;
using Flag = std::optional<bool> CgroupStats::*;

constexpr std::array<std::pair<std::string_view, Figure>, 9> figures{{
    {"oom_kills", &CgroupStats::oomKills},
    {"memory_peak_bytes", &CgroupStats::memoryPeakBytes},
    {"cpu_usage_usec", &CgroupStats::cpuUsageUsec},
    {"memory_limit_bytes", &CgroupStats::memoryLimitBytes},
    {"tasks_limit", &CgroupStats::tasksLimit},
    {"cpu_quota_usec", &CgroupStats::cpuQuotaUsec},
    {"inet_ingress_programs", &CgroupStats::inetIngressPrograms},
    {"inet_egress_programs", &CgroupStats::inetEgressPrograms},
    {"device_programs", &CgroupStats::devicePrograms},
}};

constexpr std::array<std::pair<std::string_view, Flag>, 3> flags{{
    {"devices_restricted", &CgroupStats::devicesRestricted},
    {"unified_memory_peak", &CgroupStats::unifiedMemoryPeak},
    {"unified_oom_kill_count", &CgroupStats::unifiedOomKillCount},
}};

std::optional<bool> parseFlag(std::string_view value)
{
    if (value == "yes" || value == "no")
    {
        return value == "yes";
    }
    return std::nullopt;
}

} // namespace

std::string formatCgroupStats(const CgroupStats& stats)
{
    std::string text;
    for (const auto& [key, field] : figures)
    {
        if (const auto& value = stats.*field)
        {
            text.append(key).append(" ").append(std::to_string(*value)).append("\n");
        }
    }
    for (const auto& [key, field] : flags)
    {
        if (const auto& value = stats.*field)
        {
            text.append(key).append(*value ? " yes\n" : " no\n");
        }
    }
    return text;
}

CgroupStats parseCgroupStats(std::string_view text)
{
    CgroupStats stats;
    forEachLine(text, [&stats](std::string_view line) {
        const auto [key, value] = splitOnce(line, ' ');
        for (const auto& [name, field] : figures)
        {
            if (key == name)
            {
                stats.*field = parseUnsigned(value);
            }
        }
        for (const auto& [name, field] : flags)
        {
            if (key == name)
            {
                stats.*field = parseFlag(value);
            }
        }
    });
    return stats;
}

} // namespace pyrunner::core
