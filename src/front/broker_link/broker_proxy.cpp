#include "front/broker_link/broker_proxy.hpp"

#include <utility>

namespace pyrunner::systemd
{

BrokerProxy::BrokerProxy(sdbus::IConnection& connection, Signals signals)
    : ProxyInterfaces(connection, broker::serviceName, broker::objectPath),
      signals_(std::move(signals))
{
    registerProxy();
}

BrokerProxy::~BrokerProxy()
{
    unregisterProxy();
}

void BrokerProxy::onRunStarted(const std::string& id)
{
    signals_.runStarted(id);
}

void BrokerProxy::onRunExited(const std::string& id, const broker::WireOutcome& outcome)
{
    signals_.runExited(id, broker::fromWire(outcome));
}

void BrokerProxy::onEnvironmentsChanged()
{
    signals_.environmentsChanged();
}

} // namespace pyrunner::systemd
