#include "front/service_status.hpp"

#include <systemd/sd-daemon.h>

#include <utility>

namespace pyrunner::systemd
{

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

} // namespace pyrunner::systemd
