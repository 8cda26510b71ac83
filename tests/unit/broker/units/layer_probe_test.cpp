#include "broker/units/layer_probe.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

core::Limits probeLimits()
{
    core::Limits limits;
    limits.memoryMb = 256;
    limits.tasks = 64;
    limits.cpuPercent = 100;
    return limits;
}

core::CgroupStats appliedLimits()
{
    core::CgroupStats cgroup;
    cgroup.memoryLimitBytes = 268435456;
    // The run's 64 and its reaper.
    cgroup.tasksLimit = 65;
    cgroup.cpuQuotaUsec = 100000;
    return cgroup;
}

TEST(LayerReport, EveryProbedLayerIsMissingUntilReported)
{
    const auto report = layerReport("seccomp yes\n", {}, probeLimits());
    EXPECT_EQ(report.size(), probedLayers().size());
    EXPECT_TRUE(report.at("seccomp"));
    EXPECT_FALSE(report.at("private_network"));
    EXPECT_FALSE(report.at("memory_limit"));
}

TEST(LayerReport, OnlyYesCountsAndUnknownNamesAreIgnored)
{
    const auto report =
        layerReport("seccomp no\nproc_invisible maybe\nrootkit yes\n", {}, probeLimits());
    EXPECT_FALSE(report.at("seccomp"));
    EXPECT_FALSE(report.at("proc_invisible"));
    EXPECT_FALSE(report.contains("rootkit"));
}

TEST(LayerReport, CgroupLimitsHoldWhenTheKernelAppliedExactlyThem)
{
    const auto report = layerReport("", appliedLimits(), probeLimits());
    EXPECT_TRUE(report.at("memory_limit"));
    EXPECT_TRUE(report.at("tasks_limit"));
    EXPECT_TRUE(report.at("cpu_quota"));
    auto unlimited = appliedLimits();
    unlimited.tasksLimit.reset();
    unlimited.cpuQuotaUsec = 0;
    EXPECT_FALSE(layerReport("", unlimited, probeLimits()).at("tasks_limit"));
    EXPECT_FALSE(layerReport("", unlimited, probeLimits()).at("cpu_quota"));
}

TEST(LayerReport, TheRunCannotClaimACgroupLimit)
{
    EXPECT_FALSE(layerReport("memory_limit yes\n", {}, probeLimits()).at("memory_limit"));
}

// The record of a unit whose cgroups hold every layer: the limits, and what systemd put on them.
core::CgroupStats enforcingCgroups()
{
    auto cgroups = appliedLimits();
    cgroups.inetIngressPrograms = 1;
    cgroups.inetEgressPrograms = 1;
    cgroups.devicePrograms = 1;
    cgroups.unifiedMemoryPeak = true;
    cgroups.unifiedOomKillCount = true;
    return cgroups;
}

TEST(LayerReport, CgroupV2LayersHoldWhereTheHelperRecordedThem)
{
    const auto report = layerReport("", enforcingCgroups(), probeLimits());
    EXPECT_TRUE(report.at("ip_address_deny"));
    EXPECT_TRUE(report.at("device_policy"));
    EXPECT_TRUE(report.at("memory_peak"));
    EXPECT_TRUE(report.at("oom_kill_result"));
}

TEST(LayerReport, TheV1MemoryControllerIsNoCgroupV2Memory)
{
    // A hybrid host: memory.max_usage_in_bytes gives memoryPeakBytes, but the unified
    // hierarchy has no memory controller.
    auto hybrid = enforcingCgroups();
    hybrid.memoryPeakBytes = 1048576;
    hybrid.oomKills = 0;
    hybrid.unifiedMemoryPeak = false;
    hybrid.unifiedOomKillCount = false;
    const auto report = layerReport("", hybrid, probeLimits());
    EXPECT_FALSE(report.at("memory_peak"));
    EXPECT_FALSE(report.at("oom_kill_result"));
}

TEST(LayerReport, NothingReadOfTheCgroupsIsNothingEnforced)
{
    const auto report = layerReport("", {}, probeLimits());
    for (const auto* layer : {"ip_address_deny", "device_policy", "memory_peak", "oom_kill_result"})
    {
        EXPECT_FALSE(report.at(layer)) << layer;
    }
}

TEST(LayerReport, IpAddressDenyNeedsAFilterOnBothDirections)
{
    auto cgroups = enforcingCgroups();
    cgroups.inetEgressPrograms = 0;
    EXPECT_FALSE(layerReport("", cgroups, probeLimits()).at("ip_address_deny"));
    cgroups = enforcingCgroups();
    cgroups.inetIngressPrograms.reset();
    EXPECT_FALSE(layerReport("", cgroups, probeLimits()).at("ip_address_deny"));
}

TEST(LayerReport, DevicePolicyHoldsByBpfOrByTheV1DevicesController)
{
    core::CgroupStats v1;
    v1.devicePrograms = 0;
    v1.devicesRestricted = true;
    EXPECT_TRUE(layerReport("", v1, probeLimits()).at("device_policy"));
    v1.devicesRestricted = false;
    EXPECT_FALSE(layerReport("", v1, probeLimits()).at("device_policy"));
}

TEST(LayerReport, TheRunCannotClaimWhatTheHelperRecords)
{
    const auto report = layerReport(
        "ip_address_deny yes\ndevice_policy yes\nmemory_peak yes\noom_kill_result yes\n", {},
        probeLimits());
    EXPECT_FALSE(report.at("ip_address_deny"));
    EXPECT_FALSE(report.at("device_policy"));
    EXPECT_FALSE(report.at("memory_peak"));
    EXPECT_FALSE(report.at("oom_kill_result"));
}

TEST(LayerReport, TheProbeReportsTheReadOnlyCgroupTreeItself)
{
    EXPECT_TRUE(layerReport("protect_control_groups yes\n", {}, probeLimits())
                    .at("protect_control_groups"));
}

TEST(LayerReport, MissingLayersAreListed)
{
    std::string all;
    for (const auto& layer : probedLayers())
    {
        all += layer + (layer == "seccomp" ? " no\n" : " yes\n");
    }
    EXPECT_EQ(missingLayers(layerReport(all, enforcingCgroups(), probeLimits())),
              std::vector<std::string>{"seccomp"});
}

} // namespace
} // namespace pyrunner::systemd
