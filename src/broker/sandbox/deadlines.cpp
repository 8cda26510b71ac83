#include "broker/sandbox/deadlines.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace pyrunner::systemd
{

Deadlines::Deadlines() : thread_([this] { loop(); }) {}

Deadlines::~Deadlines()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void Deadlines::arm(const std::string& key, Clock::time_point when, std::function<void()> due)
{
    {
        const std::lock_guard lock(mutex_);
        pending_[key] = {when, std::move(due)};
    }
    changed_.notify_all();
}

void Deadlines::cancel(const std::string& key)
{
    const std::lock_guard lock(mutex_);
    pending_.erase(key);
}

void Deadlines::loop()
{
    std::unique_lock lock(mutex_);
    while (!stopping_)
    {
        const auto next =
            std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
                return a.second.first < b.second.first;
            });
        if (next == pending_.end())
        {
            changed_.wait(lock);
            continue;
        }
        if (Clock::now() < next->second.first)
        {
            // Woken early by a change, the next deadline is looked up again.
            changed_.wait_until(lock, next->second.first);
            continue;
        }
        auto due = std::move(next->second.second);
        pending_.erase(next);
        lock.unlock();
        due();
        lock.lock();
    }
}

std::uint64_t monotonicUsec(Deadlines::Clock::time_point time)
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

} // namespace pyrunner::systemd
