#include "common/limits.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

Limits resolved(const LimitRequest& request, const LimitPolicy& policy = LimitPolicy::forCpus(4))
{
    auto result = resolveLimits(request, policy);
    EXPECT_TRUE(std::holds_alternative<Limits>(result)) << std::get<LimitError>(result).message;
    return std::holds_alternative<Limits>(result) ? std::get<Limits>(result) : Limits{};
}

std::string refusal(const LimitRequest& request,
                    const LimitPolicy& policy = LimitPolicy::forCpus(4))
{
    auto result = resolveLimits(request, policy);
    EXPECT_TRUE(std::holds_alternative<LimitError>(result));
    return std::holds_alternative<LimitError>(result) ? std::get<LimitError>(result).message
                                                      : std::string{};
}

TEST(LimitPolicy, DefaultsAreTheSuggestedOnes)
{
    const auto policy = LimitPolicy::forCpus(4);
    EXPECT_EQ(policy.defaults.wallTimeS, 10U);
    EXPECT_EQ(policy.defaults.cpuTimeS, 10U);
    EXPECT_EQ(policy.defaults.memoryMb, 256U);
    EXPECT_EQ(policy.defaults.cpuPercent, 100U);
    EXPECT_EQ(policy.defaults.tasks, 64U);
    EXPECT_EQ(policy.defaults.outputBytes, 1024U * 1024U);
    EXPECT_EQ(policy.defaults.diskMb, 512U);
    EXPECT_TRUE(policy.cpuFollowsWall);
}

TEST(LimitPolicy, MaximaScaleCpuPercentWithCpus)
{
    const auto policy = LimitPolicy::forCpus(4);
    EXPECT_EQ(policy.maxima.wallTimeS, 60U);
    EXPECT_EQ(policy.maxima.cpuTimeS, 60U);
    EXPECT_EQ(policy.maxima.memoryMb, 2048U);
    EXPECT_EQ(policy.maxima.cpuPercent, 400U);
    EXPECT_EQ(policy.maxima.tasks, 256U);
    EXPECT_EQ(policy.maxima.outputBytes, 16U * 1024U * 1024U);
    EXPECT_EQ(policy.maxima.diskMb, 4096U);
}

TEST(LimitPolicy, ZeroCpusCountsAsOne)
{
    EXPECT_EQ(LimitPolicy::forCpus(0).maxima.cpuPercent, 100U);
}

TEST(ResolveLimits, AnEmptyRequestTakesTheDefaults)
{
    EXPECT_EQ(resolved({}), LimitPolicy::forCpus(4).defaults);
}

TEST(ResolveLimits, EveryRequestedFieldIsKept)
{
    LimitRequest request;
    request.wallTimeS = 30;
    request.cpuTimeS = 20;
    request.memoryMb = 512;
    request.cpuPercent = 250;
    request.tasks = 8;
    request.outputBytes = 4096;
    request.diskMb = 64;
    const auto limits = resolved(request);
    EXPECT_EQ(limits.wallTimeS, 30U);
    EXPECT_EQ(limits.cpuTimeS, 20U);
    EXPECT_EQ(limits.memoryMb, 512U);
    EXPECT_EQ(limits.cpuPercent, 250U);
    EXPECT_EQ(limits.tasks, 8U);
    EXPECT_EQ(limits.outputBytes, 4096U);
    EXPECT_EQ(limits.diskMb, 64U);
}

TEST(ResolveLimits, CpuTimeFollowsARequestedWallTime)
{
    LimitRequest request;
    request.wallTimeS = 45;
    EXPECT_EQ(resolved(request).cpuTimeS, 45U);
}

TEST(ResolveLimits, CpuTimeThatFollowsWallStopsAtItsMaximum)
{
    auto policy = LimitPolicy::forCpus(1);
    policy.maxima.cpuTimeS = 30;
    LimitRequest request;
    request.wallTimeS = 50;
    EXPECT_EQ(resolved(request, policy).cpuTimeS, 30U);
}

TEST(ResolveLimits, AnExplicitCpuTimeWinsOverWall)
{
    LimitRequest request;
    request.wallTimeS = 45;
    request.cpuTimeS = 5;
    EXPECT_EQ(resolved(request).cpuTimeS, 5U);
}

TEST(ResolveLimits, CpuTimeKeepsItsDefaultWhenNotFollowingWall)
{
    auto policy = LimitPolicy::forCpus(1);
    policy.cpuFollowsWall = false;
    LimitRequest request;
    request.wallTimeS = 45;
    EXPECT_EQ(resolved(request, policy).cpuTimeS, 10U);
}

TEST(ResolveLimits, MaximaThemselvesAreAllowed)
{
    LimitRequest request;
    request.wallTimeS = 60;
    request.memoryMb = 2048;
    request.cpuPercent = 400;
    request.tasks = 256;
    request.outputBytes = 16ULL * 1024 * 1024;
    request.diskMb = 4096;
    const auto limits = resolved(request);
    EXPECT_EQ(limits.memoryMb, 2048U);
    EXPECT_EQ(limits.outputBytes, 16ULL * 1024 * 1024);
    EXPECT_EQ(limits.diskMb, 4096U);
}

TEST(ResolveLimits, AboveTheMaximumIsRefusedNamingLimitAndMaximum)
{
    LimitRequest request;
    request.memoryMb = 2049;
    EXPECT_EQ(refusal(request), "limits.memory_mb must be between 1 and 2048.");
}

TEST(ResolveLimits, ZeroIsRefused)
{
    LimitRequest request;
    request.tasks = 0;
    EXPECT_EQ(refusal(request), "limits.tasks must be between 1 and 256.");
}

TEST(ResolveLimits, DiskSpaceDefaultsTo512AndStopsAt4096)
{
    EXPECT_EQ(resolved({}).diskMb, 512U);
    LimitRequest request;
    request.diskMb = 0;
    EXPECT_EQ(refusal(request), "limits.disk_mb must be between 1 and 4096.");
    request.diskMb = 4097;
    EXPECT_EQ(refusal(request), "limits.disk_mb must be between 1 and 4096.");
    request.diskMb = 4096;
    EXPECT_EQ(resolved(request).diskMb, 4096U);
}

TEST(ResolveLimits, EachFieldNamesItself)
{
    const std::pair<std::optional<std::uint64_t> LimitRequest::*, std::string> cases[] = {
        {&LimitRequest::wallTimeS, "limits.wall_time_s must be between 1 and 60."},
        {&LimitRequest::cpuTimeS, "limits.cpu_time_s must be between 1 and 60."},
        {&LimitRequest::memoryMb, "limits.memory_mb must be between 1 and 2048."},
        {&LimitRequest::cpuPercent, "limits.cpu_percent must be between 1 and 400."},
        {&LimitRequest::tasks, "limits.tasks must be between 1 and 256."},
        {&LimitRequest::outputBytes, "limits.output_bytes must be between 1 and 16777216."},
        {&LimitRequest::diskMb, "limits.disk_mb must be between 1 and 4096."},
    };
    for (const auto& [member, message] : cases)
    {
        LimitRequest request;
        request.*member = 1ULL << 40U;
        EXPECT_EQ(refusal(request), message);
    }
}

TEST(ResolveLimits, HugeValuesAreRefusedNotTruncated)
{
    LimitRequest request;
    request.wallTimeS = (1ULL << 32U) + 5;
    EXPECT_EQ(refusal(request), "limits.wall_time_s must be between 1 and 60.");
}

TEST(ResolveLimits, AWallTimeAboveTheCpuMaximumIsStillRefusedForWall)
{
    LimitRequest request;
    request.wallTimeS = 61;
    EXPECT_EQ(refusal(request), "limits.wall_time_s must be between 1 and 60.");
}

} // namespace
} // namespace pyrunner::core
