#include "front/broker_link/env_client.hpp"

#include "protocol/broker1_proxy.hpp"
#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace pyrunner::systemd
{
namespace
{

// The operator's one call. Its proxy is never registered: the call needs none of the broker's
// signals (which the bus policy does not let root hear anyway), so none is subscribed to.
class EnvironmentCreator final : public sdbus::ProxyInterfaces<org::pyrunner::Broker1_proxy>
{
  public:
    explicit EnvironmentCreator(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, broker::serviceName, broker::objectPath)
    {
    }
    ~EnvironmentCreator() { unregisterProxy(); }
    EnvironmentCreator(const EnvironmentCreator&) = delete;
    EnvironmentCreator& operator=(const EnvironmentCreator&) = delete;
    EnvironmentCreator(EnvironmentCreator&&) = delete;
    EnvironmentCreator& operator=(EnvironmentCreator&&) = delete;

  private:
    void onRunStarted(const std::string& /*id*/) override {}
    void onRunExited(const std::string& /*id*/, const broker::WireOutcome& /*outcome*/) override {}
    void onEnvironmentsChanged() override {}
};

} // namespace

EnvironmentCreation createEnvironment(const std::string& name, const std::string& requirements,
                                      const std::string& findLinks, std::chrono::seconds timeout)
{
    EnvironmentCreation out;
    try
    {
        auto connection = sdbus::createSystemBusConnection();
        // A build takes minutes; the generated call has no timeout of its own.
        connection->setMethodCallTimeout(timeout);
        out.message =
            EnvironmentCreator(*connection).CreateEnvironment(name, requirements, findLinks);
        out.created = true;
    }
    catch (const sdbus::Error& e)
    {
        out.message = e.getMessage();
    }
    return out;
}

} // namespace pyrunner::systemd
