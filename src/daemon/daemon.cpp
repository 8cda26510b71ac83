#include "daemon/daemon.hpp"

#include "daemon/journal.hpp"

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
