#include "common/cgroup_stats.hpp"

#include "common/text.hpp"

#include <array>
#include <utility>

namespace pyrunner::core
{
namespace
{

using Field = std::optional<std::uint64_t> CgroupStats::*;

constexpr std::array<std::pair<std::string_view, Field>, 6> fields{{
    {"oom_kills", &CgroupStats::oomKills},
    {"memory_peak_bytes", &CgroupStats::memoryPeakBytes},
    {"cpu_usage_usec", &CgroupStats::cpuUsageUsec},
    {"memory_limit_bytes", &CgroupStats::memoryLimitBytes},
    {"tasks_limit", &CgroupStats::tasksLimit},
    {"cpu_quota_usec", &CgroupStats::cpuQuotaUsec},
}};

} // namespace

std::string formatCgroupStats(const CgroupStats& stats)
{
    std::string text;
    for (const auto& [key, field] : fields)
    {
        if (const auto& value = stats.*field)
        {
            text.append(key).append(" ").append(std::to_string(*value)).append("\n");
        }
    }
    return text;
}

CgroupStats parseCgroupStats(std::string_view text)
{
    CgroupStats stats;
    forEachLine(text, [&stats](std::string_view line) {
        const auto [key, value] = splitOnce(line, ' ');
        for (const auto& [name, field] : fields)
        {
            if (key == name)
            {
                stats.*field = parseUnsigned(value);
            }
        }
    });
    return stats;
}

} // namespace pyrunner::core
