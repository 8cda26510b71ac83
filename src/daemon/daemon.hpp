#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <signal.h>
#include <string>

namespace pyrunner::systemd
{

// SIGINT and SIGTERM, blocked from construction on in this thread and every thread it
// starts later, so that only wait() sees them.
class StopSignals
{
  public:
    StopSignals();
    // Returns when one of them arrives.
    void wait() const;
    // True when one arrived within `timeout`.
    bool waitFor(std::chrono::milliseconds timeout) const;

  private:
    sigset_t set_{};
};

// A daemon's main: an exception ends it with a sentence on stderr and in the journal.
int runDaemon(const std::string& name, const std::function<int()>& body);

// systemd's watchdog, when the unit sets WatchdogSec=.
class Watchdog
{
  public:
    Watchdog();

    // How often to prove liveness: a third of WatchdogSec=, so that a proof that takes as
    // long again still comes in time. Nothing when the unit has no watchdog.
    std::optional<std::chrono::milliseconds> period() const { return period_; }
    // WATCHDOG=1.
    static void ping();

  private:
    std::optional<std::chrono::milliseconds> period_;
};

} // namespace pyrunner::systemd
