#include "front/broker_link/env_client.hpp"

#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace pyrunner::systemd
{

EnvironmentCreation createEnvironment(const std::string& name, const std::string& requirements,
                                      const std::string& findLinks, std::chrono::seconds timeout)
{
    EnvironmentCreation out;
    try
    {
        auto connection = sdbus::createSystemBusConnection();
        auto broker = sdbus::createProxy(*connection, broker::serviceName, broker::objectPath);
        broker->callMethod("CreateEnvironment")
            .onInterface(broker::interfaceName)
            .withTimeout(timeout)
            .withArguments(name, requirements, findLinks)
            .storeResultsTo(out.message);
        out.created = true;
    }
    catch (const sdbus::Error& e)
    {
        out.message = e.getMessage();
    }
    return out;
}

} // namespace pyrunner::systemd
