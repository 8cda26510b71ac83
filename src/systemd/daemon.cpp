#include "systemd/daemon.hpp"

#include "systemd/journal.hpp"

#include <systemd/sd-daemon.h>

#include <cerrno>
#include <exception>
#include <iostream>
#include <pthread.h>
#include <syslog.h>
#include <time.h>

namespace pyrunner::systemd
{

StopSignals::StopSignals()
{
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

void StopSignals::wait() const
{
    int received = 0;
    sigwait(&set_, &received);
}

bool StopSignals::waitFor(std::chrono::milliseconds timeout) const
{
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec wait{
        seconds.count(),
        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - seconds).count()};
    while (true)
    {
        if (sigtimedwait(&set_, nullptr, &wait) >= 0)
        {
            return true;
        }
        // EINTR: another signal (one not blocked) interrupted the wait; wait on.
        if (errno != EINTR)
        {
            return false;
        }
    }
}

int runDaemon(const std::string& name, const std::function<int()>& body)
{
    try
    {
        return body();
    }
    catch (const std::exception& e)
    {
        std::cerr << name << ": " << e.what() << "\n";
        logMessage(LOG_CRIT, name + ": " + e.what());
        return 1;
    }
}

std::string loadText(const core::Health& health)
{
    return std::to_string(health.running) + " running, " + std::to_string(health.queued) +
           " queued";
}

ServiceStatus::ServiceStatus(std::string prefix) : prefix_(std::move(prefix)) {}

void ServiceStatus::follow(const core::RunService& service)
{
    const std::lock_guard lock(mutex_);
    service_ = &service;
}

void ServiceStatus::ready()
{
    const std::lock_guard lock(mutex_);
    sent_ = service_ != nullptr ? prefix_ + ": " + loadText(service_->health()) : prefix_;
    sd_notifyf(0, "READY=1\nSTATUS=%s", sent_.c_str());
}

void ServiceStatus::stopping()
{
    const std::lock_guard lock(mutex_);
    sent_ = "Stopping; the runs go on under systemd";
    sd_notifyf(0, "STOPPING=1\nSTATUS=%s", sent_.c_str());
}

void ServiceStatus::accepted(const core::Run& /*run*/, std::string_view /*client*/)
{
    refresh();
}

void ServiceStatus::started(const core::Run& /*run*/, std::string_view /*client*/)
{
    refresh();
}

void ServiceStatus::finished(const core::Run& /*run*/, std::string_view /*client*/)
{
    refresh();
}

void ServiceStatus::refresh()
{
    // Under the lock, so that the last change is also the last line sent.
    const std::lock_guard lock(mutex_);
    if (service_ == nullptr)
    {
        return;
    }
    auto line = prefix_ + ": " + loadText(service_->health());
    if (line != sent_)
    {
        sent_ = std::move(line);
        sd_notifyf(0, "STATUS=%s", sent_.c_str());
    }
}

Watchdog::Watchdog()
{
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    {
        constexpr int parts = 3;
        period_ = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::microseconds(usec) / parts);
    }
}

void Watchdog::ping()
{
    sd_notify(0, "WATCHDOG=1");
}

} // namespace pyrunner::systemd
