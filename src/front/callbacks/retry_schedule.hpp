#pragma once

#include <chrono>
#include <optional>

namespace pyrunner::core
{

// How a callback is retried: the waits double from `first` up to `cap`, and after
// `maxAttempts` attempts that all failed it is given up.
struct RetryPolicy
{
    std::chrono::seconds first{1};
    std::chrono::seconds cap{300};
    unsigned maxAttempts = 24;
};

// After `attempts` attempts (at least one) that all failed: how long until the next, or nothing
// when none is left.
std::optional<std::chrono::seconds> retryDelay(unsigned attempts, const RetryPolicy& policy);

// The sum of every wait between the first attempt and the last: how long after its run's end a
// callback may still arrive, besides the time the attempts themselves take.
std::chrono::seconds retrySpan(const RetryPolicy& policy);

} // namespace pyrunner::core
