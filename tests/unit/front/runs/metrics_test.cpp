#include "front/runs/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pyrunner::core
{
namespace
{

Run endedAfter(RunStatus status, std::chrono::milliseconds latency)
{
    Run run;
    run.status = status;
    run.createdAt = TimePoint{} + std::chrono::hours(1);
    run.finishedAt = run.createdAt + latency;
    return run;
}

TEST(Histogram, CountsAValueOnItsBoundIntoThatBucket)
{
    Histogram histogram({0.1, 1});
    histogram.observe(0.1);
    histogram.observe(0.5);
    histogram.observe(1);
    histogram.observe(7);
    EXPECT_EQ(histogram.counts(), (std::vector<std::uint64_t>{1, 2, 1}));
    EXPECT_EQ(histogram.count(), 4U);
    EXPECT_DOUBLE_EQ(histogram.sum(), 8.6);
}

TEST(Histogram, LatencyBucketsSpanTenMillisecondsToFiveMinutes)
{
    EXPECT_DOUBLE_EQ(latencyBucketsSeconds.front(), 0.01);
    EXPECT_DOUBLE_EQ(latencyBucketsSeconds.back(), 300);
    EXPECT_TRUE(std::is_sorted(latencyBucketsSeconds.begin(), latencyBucketsSeconds.end()));
}

TEST(Metrics, CountsFinishedRunsByStatusAndTheirLatency)
{
    Metrics metrics;
    metrics.finished(endedAfter(RunStatus::Succeeded, std::chrono::milliseconds(120)), "");
    metrics.finished(endedAfter(RunStatus::Succeeded, std::chrono::milliseconds(80)), "");
    metrics.finished(endedAfter(RunStatus::TimedOut, std::chrono::seconds(61)), "");
    const auto counts = metrics.snapshot();
    EXPECT_EQ(counts.finished.at(static_cast<std::size_t>(RunStatus::Succeeded)), 2U);
    EXPECT_EQ(counts.finished.at(static_cast<std::size_t>(RunStatus::TimedOut)), 1U);
    EXPECT_EQ(counts.finished.at(static_cast<std::size_t>(RunStatus::Failed)), 0U);
    EXPECT_EQ(counts.latency.count(), 3U);
    EXPECT_DOUBLE_EQ(counts.latency.sum(), 61.2);
    // 0.08 s in the 0.1 bucket, 0.12 s in the 0.25 one, 61 s in the 120 one.
    EXPECT_EQ(counts.latency.counts().at(3), 1U);
    EXPECT_EQ(counts.latency.counts().at(4), 1U);
    EXPECT_EQ(counts.latency.counts().at(12), 1U);
}

TEST(Metrics, ClockSteppedBackCountsAsNoLatency)
{
    Metrics metrics;
    metrics.finished(endedAfter(RunStatus::Failed, std::chrono::milliseconds(-500)), "");
    EXPECT_EQ(metrics.snapshot().latency.counts().at(0), 1U);
    EXPECT_DOUBLE_EQ(metrics.snapshot().latency.sum(), 0);
}

TEST(Metrics, CountsAcceptedAndRefusedByReason)
{
    Metrics metrics;
    metrics.accepted(core::Run{}, "");
    metrics.refused(SubmitError::QueueFull, "", "");
    metrics.refused(SubmitError::QueueFull, "", "");
    metrics.refused(SubmitError::TenantQueueFull, "", "alice");
    metrics.refused(SubmitError::Unavailable, "", "");
    const auto counts = metrics.snapshot();
    EXPECT_EQ(counts.accepted, 1U);
    EXPECT_EQ(counts.refusedQueueFull, 2U);
    EXPECT_EQ(counts.refusedTenantQueueFull, 1U);
    EXPECT_EQ(counts.refusedUnavailable, 1U);
}

TEST(Metrics, CountsEachTenantApart)
{
    Metrics metrics;
    core::Run alice;
    alice.tenant = "alice";
    alice.status = RunStatus::Succeeded;
    alice.cpuTimeMs = 1500;
    core::Run bob = alice;
    bob.tenant = "bob";
    metrics.accepted(alice, "");
    metrics.accepted(bob, "");
    metrics.finished(alice, "");
    metrics.refused(SubmitError::TenantQueueFull, "", "bob");
    const auto counts = metrics.snapshot();
    EXPECT_EQ(counts.tenants.at("alice").accepted, 1U);
    EXPECT_EQ(counts.tenants.at("alice").refused, 0U);
    EXPECT_EQ(
        counts.tenants.at("alice").finished.at(static_cast<std::size_t>(RunStatus::Succeeded)), 1U);
    EXPECT_DOUBLE_EQ(counts.tenants.at("alice").cpuSeconds, 1.5);
    EXPECT_EQ(counts.tenants.at("bob").accepted, 1U);
    EXPECT_EQ(counts.tenants.at("bob").refused, 1U);
}

TEST(Metrics, CountsHttpAnswersByClassAndIgnoresImpossibleStatuses)
{
    Metrics metrics;
    for (const int status : {200, 202, 404, 429, 503, 101, 99, 600, -1})
    {
        metrics.httpResponse(status);
    }
    EXPECT_EQ(metrics.snapshot().httpResponses, (std::array<std::uint64_t, 5>{1, 2, 0, 2, 1}));
}

TEST(Metrics, CountsFromManyThreadsWithoutLosingAny)
{
    Metrics metrics;
    constexpr std::uint64_t threads = 4;
    constexpr std::uint64_t each = 10000;
    constexpr std::uint64_t total = threads * each;
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (std::uint64_t t = 0; t < threads; ++t)
    {
        workers.emplace_back([&metrics] {
            for (std::uint64_t i = 0; i < each; ++i)
            {
                metrics.httpResponse(200);
                metrics.brokerReconnected();
                metrics.finished(endedAfter(RunStatus::Succeeded, std::chrono::milliseconds(1)),
                                 "");
            }
        });
    }
    for (auto& worker : workers)
    {
        worker.join();
    }
    const auto counts = metrics.snapshot();
    EXPECT_EQ(counts.httpResponses.at(1), total);
    EXPECT_EQ(counts.brokerReconnects, total);
    EXPECT_EQ(counts.latency.count(), total);
}

} // namespace
} // namespace pyrunner::core
