#pragma once

#include "front/runs/run_events.hpp"
#include "front/runs/run_service.hpp"

#include <mutex>
#include <string>

namespace pyrunner::systemd
{

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

} // namespace pyrunner::systemd
