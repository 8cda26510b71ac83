#include "front/runs/metrics.hpp"

#include <algorithm>
#include <utility>

namespace pyrunner::core
{

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0)
{
}

void Histogram::observe(double value)
{
    const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    ++counts_[static_cast<std::size_t>(bucket)];
    sum_ += value;
    ++count_;
}

void Metrics::accepted(const Run& run, std::string_view /*client*/)
{
    const std::lock_guard lock(mutex_);
    ++counts_.accepted;
    ++counts_.tenants[run.tenant].accepted;
}

void Metrics::refused(SubmitError reason, std::string_view /*client*/, std::string_view tenant)
{
    const std::lock_guard lock(mutex_);
    switch (reason)
    {
    case SubmitError::QueueFull:
        ++counts_.refusedQueueFull;
        break;
    case SubmitError::TenantQueueFull:
        ++counts_.refusedTenantQueueFull;
        break;
    case SubmitError::Unavailable:
        ++counts_.refusedUnavailable;
        break;
    }
    ++counts_.tenants[std::string(tenant)].refused;
}

void Metrics::authFailed(bool throttled)
{
    const std::lock_guard lock(mutex_);
    ++(throttled ? counts_.authThrottled : counts_.authFailures);
}

void Metrics::callbackAttempted(CallbackState state)
{
    const std::lock_guard lock(mutex_);
    switch (state)
    {
    case CallbackState::Delivered:
        ++counts_.callbacksDelivered;
        break;
    case CallbackState::Pending:
        ++counts_.callbacksRetried;
        break;
    case CallbackState::Failed:
        ++counts_.callbacksFailed;
        break;
    }
}

void Metrics::finished(const Run& run, std::string_view /*client*/)
{
    const auto end = run.finishedAt.value_or(Clock::now());
    const std::chrono::duration<double> latency = end - run.createdAt;
    const std::lock_guard lock(mutex_);
    ++counts_.finished.at(static_cast<std::size_t>(run.status));
    auto& tenant = counts_.tenants[run.tenant];
    ++tenant.finished.at(static_cast<std::size_t>(run.status));
    constexpr double msPerSecond = 1000.0;
    tenant.cpuSeconds += run.cpuTimeMs.value_or(0) / msPerSecond;
    // A clock stepped back between acceptance and end must not make a negative latency.
    counts_.latency.observe(std::max(0.0, latency.count()));
}

void Metrics::brokerReconnected()
{
    const std::lock_guard lock(mutex_);
    ++counts_.brokerReconnects;
}

void Metrics::httpResponse(int status)
{
    constexpr int classSize = 100;
    const int statusClass = status / classSize;
    if (statusClass < 1 || statusClass > static_cast<int>(httpStatusClasses))
    {
        return;
    }
    const std::lock_guard lock(mutex_);
    ++counts_.httpResponses.at(static_cast<std::size_t>(statusClass - 1));
}

MetricsSnapshot Metrics::snapshot() const
{
    const std::lock_guard lock(mutex_);
    return counts_;
}

} // namespace pyrunner::core
