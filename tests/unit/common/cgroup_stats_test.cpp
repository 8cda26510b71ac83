#include "common/cgroup_stats.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

CgroupStats everyField()
{
    CgroupStats stats;
    stats.oomKills = 1;
    stats.memoryPeakBytes = 4096;
    stats.cpuUsageUsec = 12;
    stats.memoryLimitBytes = 1048576;
    stats.tasksLimit = 64;
    stats.cpuQuotaUsec = 50000;
    stats.inetIngressPrograms = 1;
    stats.inetEgressPrograms = 2;
    stats.devicePrograms = 0;
    stats.devicesRestricted = false;
    stats.unifiedMemoryPeak = true;
    stats.unifiedOomKillCount = true;
    return stats;
}

TEST(CgroupStats, RoundTrips)
{
    EXPECT_EQ(parseCgroupStats(formatCgroupStats(everyField())), everyField());
    EXPECT_EQ(parseCgroupStats(formatCgroupStats({})), CgroupStats{});
}

TEST(CgroupStats, ARecordWithoutTheSandboxingFieldsStillParses)
{
    // As a helper wrote it before it recorded what systemd put on the cgroup.
    const auto stats = parseCgroupStats("oom_kills 0\nmemory_peak_bytes 9\ncpu_usage_usec 3\n"
                                        "memory_limit_bytes 1048576\ntasks_limit 64\n"
                                        "cpu_quota_usec 50000\nservice_result success\n");
    EXPECT_EQ(stats.oomKills, 0U);
    EXPECT_EQ(stats.memoryPeakBytes, 9U);
    EXPECT_EQ(stats.cpuQuotaUsec, 50000U);
    EXPECT_FALSE(stats.inetIngressPrograms);
    EXPECT_FALSE(stats.inetEgressPrograms);
    EXPECT_FALSE(stats.devicePrograms);
    EXPECT_FALSE(stats.devicesRestricted);
    EXPECT_FALSE(stats.unifiedMemoryPeak);
    EXPECT_FALSE(stats.unifiedOomKillCount);
}

TEST(CgroupStats, FlagsAreYesOrNo)
{
    const auto stats = parseCgroupStats("devices_restricted yes\nunified_memory_peak no\n"
                                        "unified_oom_kill_count 1\n");
    EXPECT_EQ(stats.devicesRestricted, true);
    EXPECT_EQ(stats.unifiedMemoryPeak, false);
    EXPECT_FALSE(stats.unifiedOomKillCount);
}

TEST(CgroupStats, MalformedValuesAreLeftOut)
{
    const auto stats = parseCgroupStats("inet_ingress_programs many\ndevice_programs -1\n"
                                        "inet_egress_programs\ndevices_restricted yes please\n");
    EXPECT_FALSE(stats.inetIngressPrograms);
    EXPECT_FALSE(stats.devicePrograms);
    EXPECT_FALSE(stats.inetEgressPrograms);
    EXPECT_FALSE(stats.devicesRestricted);
}

} // namespace
} // namespace pyrunner::core
