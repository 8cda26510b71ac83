#pragma once

#include <chrono>
#include <string>

namespace pyrunner::systemd
{

struct EnvironmentCreation
{
    bool created = false;
    // The broker's sentence when it was not created, then the installer's log.
    std::string message;
};

// Asks the broker, over the system bus, to build the operator's environment `name` from the
// requirements file's text, installing from `findLinks` only; waits up to `timeout`. Only
// root may ask. Never throws.
EnvironmentCreation createEnvironment(const std::string& name, const std::string& requirements,
                                      const std::string& findLinks, std::chrono::seconds timeout);

} // namespace pyrunner::systemd
