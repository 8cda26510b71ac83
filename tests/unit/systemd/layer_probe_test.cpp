#include "systemd/layer_probe.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

TEST(LayerReport, EveryProbedLayerIsMissingUntilReported)
{
    const auto report = parseLayerReport("seccomp yes\n");
    EXPECT_EQ(report.size(), probedLayers().size());
    EXPECT_TRUE(report.at("seccomp"));
    EXPECT_FALSE(report.at("memory_limit"));
}

TEST(LayerReport, OnlyYesCountsAndUnknownNamesAreIgnored)
{
    const auto report = parseLayerReport("seccomp no\ncpu_quota maybe\nrootkit yes\n");
    EXPECT_FALSE(report.at("seccomp"));
    EXPECT_FALSE(report.at("cpu_quota"));
    EXPECT_FALSE(report.contains("rootkit"));
}

TEST(LayerReport, MissingLayersAreListed)
{
    std::string all;
    for (const auto& layer : probedLayers())
    {
        all += layer + (layer == "cpu_quota" ? " no\n" : " yes\n");
    }
    EXPECT_EQ(missingLayers(parseLayerReport(all)), std::vector<std::string>{"cpu_quota"});
}

TEST(LayerProbe, ArgumentsAreTheCgroupValuesTheLimitsMapTo)
{
    core::Limits limits;
    limits.memoryMb = 256;
    limits.tasks = 64;
    limits.cpuPercent = 100;
    EXPECT_EQ(layerProbeArgs(limits), (std::vector<std::string>{"268435456", "64", "100000"}));
}

} // namespace
} // namespace pyrunner::systemd
