#pragma once

#include "common/sandbox.hpp"
#include "protocol/broker1_proxy.hpp"
#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <string>

namespace pyrunner::systemd
{

// The broker's object as the front calls it: org.pyrunner.Broker1's methods, generated from
// its XML, and its signals, handed on to `Signals` on the connection's thread. Subscribes to
// the signals before it returns, so that a run asked for afterwards cannot end unseen.
class BrokerProxy final : public sdbus::ProxyInterfaces<org::pyrunner::Broker1_proxy>
{
  public:
    struct Signals
    {
        std::function<void(const std::string& id)> runStarted;
        std::function<void(const std::string& id, const core::UnitOutcome& outcome)> runExited;
        std::function<void()> environmentsChanged;
    };

    // Throws sdbus::Error if the bus refuses the subscriptions.
    BrokerProxy(sdbus::IConnection& connection, Signals signals);
    ~BrokerProxy();
    BrokerProxy(const BrokerProxy&) = delete;
    BrokerProxy& operator=(const BrokerProxy&) = delete;
    BrokerProxy(BrokerProxy&&) = delete;
    BrokerProxy& operator=(BrokerProxy&&) = delete;

  private:
    void onRunStarted(const std::string& id) override;
    void onRunExited(const std::string& id, const broker::WireOutcome& outcome) override;
    void onEnvironmentsChanged() override;

    const Signals signals_;
};

} // namespace pyrunner::systemd
