#include "systemd/daemon.hpp"

#include "systemd/journal.hpp"

#include <exception>
#include <iostream>
#include <pthread.h>
#include <syslog.h>

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

} // namespace pyrunner::systemd
