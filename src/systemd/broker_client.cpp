#include "systemd/broker_client.hpp"

#include "systemd/broker_api.hpp"
#include "systemd/journal.hpp"
#include "systemd/unit_properties.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <stdexcept>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr auto callTimeout = std::chrono::seconds(10);

std::vector<std::uint8_t> bytesOf(const std::string& text)
{
    return {text.begin(), text.end()};
}

std::string signalMatch(const char* member)
{
    return std::string("type='signal',sender='") + broker::serviceName + "',path='" +
           broker::objectPath + "',interface='" + broker::interfaceName + "',member='" + member +
           "'";
}

} // namespace

BrokerClient::BrokerClient()
{
    try
    {
        connection_ = sdbus::createSystemBusConnection();
        broker_ = sdbus::createProxy(*connection_, broker::serviceName, broker::objectPath);
        // Matched before any run is asked for, so no run can end unseen.
        matches_.push_back(connection_->addMatch(signalMatch("RunStarted"),
                                                 [this](sdbus::Message& m) { onRunStarted(m); }));
        matches_.push_back(connection_->addMatch(signalMatch("RunExited"),
                                                 [this](sdbus::Message& m) { onRunExited(m); }));
    }
    catch (const sdbus::Error& e)
    {
        throw std::runtime_error("cannot connect to the system bus: " + e.getMessage());
    }
    try
    {
        // Before the bus thread starts, so this thread may still use the connection.
        broker_->callMethod("Layers")
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .storeResultsTo(layers_);
    }
    catch (const sdbus::Error& e)
    {
        logMessage(LOG_WARNING,
                   "pyrunnerd: cannot ask the broker which layers hold: " + e.getMessage());
    }
    bus_ = std::make_unique<BusThread>(*connection_, [this] { abandonAll(); });
    bus_->start();
}

BrokerClient::~BrokerClient()
{
    stop();
}

void BrokerClient::stop()
{
    bus_->stop();
}

std::string BrokerClient::unitName(const std::string& runId) const
{
    return unitNameFor(runId);
}

bool BrokerClient::reachable() const
{
    return bus_->alive();
}

void BrokerClient::start(core::SandboxRun run, core::SandboxCallbacks callbacks)
{
    bus_->post([this, run = std::move(run), callbacks = std::move(callbacks)]() mutable {
        startOnBus(run, std::move(callbacks));
    });
}

void BrokerClient::startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks)
{
    runs_[run.id] = std::move(callbacks);
    try
    {
        broker_->callMethod("StartRun")
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .withArguments(run.id, bytesOf(run.code), bytesOf(run.stdinData), run.args,
                           broker::toWire(run.limits));
    }
    catch (const sdbus::Error& e)
    {
        const auto node = runs_.extract(run.id);
        if (node)
        {
            core::UnitOutcome refused;
            refused.error = "The sandbox broker did not start the run: " + e.getMessage();
            node.mapped().onExited(refused);
        }
    }
}

void BrokerClient::kill(const std::string& runId)
{
    bus_->post([this, runId] { callBroker("KillRun", runId); });
}

void BrokerClient::release(const std::string& runId)
{
    bus_->post([this, runId] { callBroker("ReleaseRun", runId); });
}

void BrokerClient::callBroker(const char* method, const std::string& runId)
{
    try
    {
        broker_->callMethod(method)
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .withArguments(runId);
    }
    catch (const sdbus::Error& e)
    {
        logMessage(LOG_WARNING, std::string("pyrunnerd: the broker's ") + method + " for run " +
                                    runId + " failed: " + e.getMessage());
    }
}

void BrokerClient::onRunStarted(sdbus::Message& message)
{
    std::string id;
    message >> id;
    const auto it = runs_.find(id);
    if (it != runs_.end() && it->second.onStarted)
    {
        it->second.onStarted();
    }
}

void BrokerClient::onRunExited(sdbus::Message& message)
{
    std::string id;
    broker::WireOutcome outcome;
    message >> id >> outcome;
    const auto node = runs_.extract(id);
    if (node)
    {
        node.mapped().onExited(broker::fromWire(outcome));
    }
}

void BrokerClient::abandonAll()
{
    for (auto& [id, callbacks] : std::exchange(runs_, {}))
    {
        core::UnitOutcome lost;
        lost.error = "The server lost its connection to the system bus while the run was going on.";
        callbacks.onExited(lost);
    }
}

} // namespace pyrunner::systemd
