#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace pyrunner::systemd
{

// Calls back at a time set per key, from a thread of its own that sleeps until the next
// one is due. Arming a key again replaces its deadline; a cancelled one never fires.
class Deadlines
{
  public:
    using Clock = std::chrono::steady_clock;

    Deadlines();
    ~Deadlines();
    Deadlines(const Deadlines&) = delete;
    Deadlines& operator=(const Deadlines&) = delete;
    Deadlines(Deadlines&&) = delete;
    Deadlines& operator=(Deadlines&&) = delete;

    void arm(const std::string& key, Clock::time_point when, std::function<void()> due);
    void cancel(const std::string& key);

  private:
    void loop();

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::pair<Clock::time_point, std::function<void()>>> pending_;
    bool stopping_ = false;
    std::thread thread_;
};

// steady_clock is CLOCK_MONOTONIC, the clock of systemd's *TimestampMonotonic.
std::uint64_t monotonicUsec(Deadlines::Clock::time_point time);

} // namespace pyrunner::systemd
