#include "front/callbacks/retry_schedule.hpp"

#include <algorithm>

namespace pyrunner::core
{

std::optional<std::chrono::seconds> retryDelay(unsigned attempts, const RetryPolicy& policy)
{
    if (attempts == 0 || attempts >= policy.maxAttempts)
    {
        return std::nullopt;
    }
    auto delay = policy.first;
    // Doubling stops at the cap, so no wait overflows however many attempts are allowed.
    for (unsigned i = 1; i < attempts && delay < policy.cap; ++i)
    {
        delay *= 2;
    }
    return std::min(delay, policy.cap);
}

std::chrono::seconds retrySpan(const RetryPolicy& policy)
{
    std::chrono::seconds span{0};
    for (unsigned attempts = 1; const auto delay = retryDelay(attempts, policy); ++attempts)
    {
        span += *delay;
    }
    return span;
}

} // namespace pyrunner::core
