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

TEST(LayerReport, MissingLayersAreListed)
{
    std::string all;
    for (const auto& layer : probedLayers())
    {
        all += layer + (layer == "seccomp" ? " no\n" : " yes\n");
    }
    EXPECT_EQ(missingLayers(layerReport(all, appliedLimits(), probeLimits())),
              std::vector<std::string>{"seccomp"});
}

} // namespace
} // namespace pyrunner::systemd
