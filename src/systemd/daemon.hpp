#pragma once

#include <functional>
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

  private:
    sigset_t set_{};
};

// A daemon's main: an exception ends it with a sentence on stderr and in the journal.
int runDaemon(const std::string& name, const std::function<int()>& body);

} // namespace pyrunner::systemd
