#pragma once

#include "front/runs/run_events.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pyrunner::core
{

// Upper bounds, in seconds, of the end-to-end latency buckets: from a 10 ms answer to a run
// at the 5-minute mark.
inline constexpr std::array<double, 14> latencyBucketsSeconds{
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

// Observations counted into buckets by their upper bounds, as a Prometheus histogram.
// Not thread-safe on its own.
class Histogram
{
  public:
    explicit Histogram(std::vector<double> bounds);

    // Goes to the first bucket whose bound is at least `value`, or past the last.
    void observe(double value);

    const std::vector<double>& bounds() const { return bounds_; }
    // Per bucket, not cumulative; one more than bounds(): the values above every bound.
    const std::vector<std::uint64_t>& counts() const { return counts_; }
    double sum() const { return sum_; }
    std::uint64_t count() const { return count_; }

  private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

// Counts by the first digit of an HTTP status: 1xx .. 5xx.
inline constexpr std::size_t httpStatusClasses = 5;

// The counters behind GET /metrics, as one consistent copy.
struct MetricsSnapshot
{
    std::uint64_t accepted = 0;
    std::uint64_t refusedQueueFull = 0;
    std::uint64_t refusedTenantQueueFull = 0;
    std::uint64_t refusedUnavailable = 0;
    // Indexed by RunStatus; only final statuses count.
    std::array<std::uint64_t, static_cast<std::size_t>(RunStatus::Error) + 1> finished{};
    Histogram latency{{latencyBucketsSeconds.begin(), latencyBucketsSeconds.end()}};
    std::uint64_t brokerReconnects = 0;
    // [0] is 1xx, [4] is 5xx.
    std::array<std::uint64_t, httpStatusClasses> httpResponses{};
    // The same by tenant; tenants are few, each made by an operator.
    struct TenantCounts
    {
        std::uint64_t accepted = 0;
        std::uint64_t refused = 0;
        std::array<std::uint64_t, static_cast<std::size_t>(RunStatus::Error) + 1> finished{};
        double cpuSeconds = 0;
    };
    std::map<std::string, TenantCounts> tenants;
    // Requests refused for a missing or wrong token, and while their client was locked out.
    std::uint64_t authFailures = 0;
    std::uint64_t authThrottled = 0;
    // Callback attempts by what came of them: delivered, to be retried, given up.
    std::uint64_t callbacksDelivered = 0;
    std::uint64_t callbacksRetried = 0;
    std::uint64_t callbacksFailed = 0;
};

// The server's counters: fed by the run lifecycle's events, the HTTP layer and the bus
// client. Thread-safe; the gauges (running, queued, warm units) are read from the run
// lifecycle when asked, not counted here.
class Metrics final : public RunEvents
{
  public:
    void accepted(const Run& run, std::string_view client) override;
    void refused(SubmitError reason, std::string_view client, std::string_view tenant) override;
    void finished(const Run& run, std::string_view client) override;

    // The sandbox broker is on the bus again after the front started without it or lost it.
    void brokerReconnected();
    // An answer went out with this status; statuses outside 100..599 are not counted.
    void httpResponse(int status);
    // A request came without a valid token, or while its client was locked out.
    void authFailed(bool throttled);
    // An attempt to post a finished run left its callback in `state`.
    void callbackAttempted(CallbackState state);

    MetricsSnapshot snapshot() const;

  private:
    mutable std::mutex mutex_;
    MetricsSnapshot counts_;
};

} // namespace pyrunner::core
