#pragma once

#include "core/run_events.hpp"
#include "core/run_service.hpp"

#include <chrono>
#include <functional>
#include <mutex>
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

// The "N running, M queued" of the service's status line.
std::string loadText(const core::Health& health);

// Tells systemd how the front is doing (sd_notify): READY=1 once it serves, and a STATUS=
// line with its running and queued runs, sent again whenever a run's step changes them.
class ServiceStatus final : public core::RunEvents
{
  public:
    // `prefix` opens every status line, e.g. "Serving on 127.0.0.1:8080".
    explicit ServiceStatus(std::string prefix);

    // The runs are counted from `service` from now on.
    void follow(const core::RunService& service);
    void ready();
    void stopping();

    void accepted(const core::Run& run, std::string_view client) override;
    void started(const core::Run& run, std::string_view client) override;
    void finished(const core::Run& run, std::string_view client) override;

  private:
    // Sends the status line when it differs from the last one sent.
    void refresh();

    const std::string prefix_;
    std::mutex mutex_;
    const core::RunService* service_ = nullptr;
    std::string sent_;
};

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
