#include "front/broker_link/broker_client.hpp"

#include "common/run_id.hpp"
#include "daemon/journal.hpp"
#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr auto callTimeout = std::chrono::seconds(10);
constexpr const char* busService = "org.freedesktop.DBus";
constexpr const char* busPath = "/org/freedesktop/DBus";

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

// The broker was not there to answer, as opposed to refusing: the call is worth repeating
// when a broker owns the name again.
bool brokerAbsent(const sdbus::Error& error)
{
    const auto& name = error.getName();
    return name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
           name == "org.freedesktop.DBus.Error.NoReply";
}

} // namespace

BrokerClient::BrokerClient(std::function<void()> onConnectionLost,
                           std::function<void()> onBrokerBack,
                           std::function<void()> onEnvironmentsChanged)
    : onConnectionLost_(std::move(onConnectionLost)), onBrokerBack_(std::move(onBrokerBack)),
      onEnvironmentsChanged_(std::move(onEnvironmentsChanged))
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
        matches_.push_back(
            connection_->addMatch(signalMatch("EnvironmentsChanged"),
                                  [this](sdbus::Message&) { environmentsChanged(); }));
        matches_.push_back(connection_->addMatch(
            std::string("type='signal',sender='") + busService + "',path='" + busPath +
                "',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
                broker::serviceName + "'",
            [this](sdbus::Message& m) { onBrokerOwner(m); }));
        bool hasOwner = false;
        sdbus::createProxy(*connection_, busService, busPath)
            ->callMethod("NameHasOwner")
            .onInterface("org.freedesktop.DBus")
            .withTimeout(callTimeout)
            .withArguments(std::string(broker::serviceName))
            .storeResultsTo(hasOwner);
        brokerUp_ = hasOwner;
    }
    catch (const sdbus::Error& e)
    {
        throw std::runtime_error("cannot connect to the system bus: " + e.getMessage());
    }
    if (brokerUp_)
    {
        // Before the bus thread starts, so this thread may still use the connection.
        fetchLayers();
        fetchEnvironments();
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
    return core::unitNameFor(runId);
}

bool BrokerClient::reachable() const
{
    return bus_->alive() && brokerUp_;
}

std::map<std::string, bool> BrokerClient::layers() const
{
    const std::lock_guard lock(layersMutex_);
    return layers_;
}

template <typename Answer>
std::optional<Answer> BrokerClient::ask(const char* method, const char* question)
{
    Answer answer{};
    try
    {
        broker_->callMethod(method)
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .storeResultsTo(answer);
    }
    catch (const sdbus::Error& e)
    {
        logMessage(LOG_WARNING, std::string("pyrunnerd: cannot ask the broker ") + question + ": " +
                                    e.getMessage());
        return std::nullopt;
    }
    return answer;
}

void BrokerClient::fetchLayers()
{
    auto layers = ask<std::map<std::string, bool>>("Layers", "which layers hold")
                      .value_or(std::map<std::string, bool>{});
    const std::lock_guard lock(layersMutex_);
    layers_ = std::move(layers);
}

std::vector<core::Environment> BrokerClient::environments() const
{
    const std::lock_guard lock(layersMutex_);
    return environments_;
}

void BrokerClient::fetchEnvironments()
{
    const auto wire =
        ask<std::vector<broker::WireEnvironment>>("Environments", "for its environments");
    if (!wire)
    {
        return;
    }
    std::vector<core::Environment> environments;
    environments.reserve(wire->size());
    for (const auto& environment : *wire)
    {
        environments.push_back(broker::fromWire(environment));
    }
    const std::lock_guard lock(layersMutex_);
    environments_ = std::move(environments);
}

void BrokerClient::start(core::SandboxRun run, core::SandboxCallbacks callbacks)
{
    bus_->post([this, run = std::move(run), callbacks = std::move(callbacks)]() mutable {
        idle_.erase(run.id);
        runs_[run.id] = std::move(callbacks);
        unconfirmed_[run.id] = run;
        if (brokerUp_)
        {
            sendStart(run);
        }
    });
}

void BrokerClient::sendStart(const core::SandboxRun& run)
{
    try
    {
        broker_->callMethod("StartRun")
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .withArguments(run.id, bytesOf(run.code), bytesOf(run.stdinData), run.args,
                           broker::toWire(run.limits), run.environment, run.requirements);
        unconfirmed_.erase(run.id);
    }
    catch (const sdbus::Error& e)
    {
        if (brokerAbsent(e))
        {
            return;
        }
        unconfirmed_.erase(run.id);
        core::UnitOutcome refused;
        refused.error = "The sandbox broker did not start the run: " + e.getMessage();
        endRun(run.id, refused);
    }
}

void BrokerClient::environmentsChanged()
{
    fetchEnvironments();
    if (onEnvironmentsChanged_)
    {
        onEnvironmentsChanged_();
    }
}

void BrokerClient::prepare(const std::string& runId, const std::string& environment,
                           core::SandboxCallbacks callbacks)
{
    bus_->post([this, runId, environment, callbacks = std::move(callbacks)]() mutable {
        runs_[runId] = std::move(callbacks);
        idle_.insert(runId);
        try
        {
            broker_->callMethod("PrepareRun")
                .onInterface(broker::interfaceName)
                .withTimeout(callTimeout)
                .withArguments(runId, environment);
        }
        catch (const sdbus::Error& e)
        {
            core::UnitOutcome refused;
            refused.error = "The sandbox broker did not prepare a warm unit: " + e.getMessage();
            endRun(runId, refused);
        }
    });
}

void BrokerClient::follow(const std::string& runId, core::SandboxCallbacks callbacks)
{
    bus_->post([this, runId, callbacks = std::move(callbacks)]() mutable {
        runs_[runId] = std::move(callbacks);
        if (brokerUp_)
        {
            followOnBus(runId);
        }
    });
}

void BrokerClient::followOnBus(const std::string& runId)
{
    std::string state;
    try
    {
        broker_->callMethod("FollowRun")
            .onInterface(broker::interfaceName)
            .withTimeout(callTimeout)
            .withArguments(runId)
            .storeResultsTo(state);
    }
    catch (const sdbus::Error& e)
    {
        if (!brokerAbsent(e))
        {
            core::UnitOutcome lost;
            lost.error = "The sandbox broker cannot follow the run: " + e.getMessage();
            endRun(runId, lost);
        }
        return;
    }
    if (state != "unknown")
    {
        // RunStarted and RunExited follow as for a run started now.
        return;
    }
    if (const auto pending = unconfirmed_.find(runId); pending != unconfirmed_.end())
    {
        sendStart(pending->second);
        return;
    }
    core::UnitOutcome vanished;
    vanished.vanished = true;
    vanished.error = "The run's unit is gone and left no record of how it ended.";
    endRun(runId, vanished);
}

std::vector<std::string> BrokerClient::strayRuns()
{
    std::promise<std::vector<std::string>> answer;
    auto future = answer.get_future();
    bus_->post([this, &answer] {
        answer.set_value(ask<std::vector<std::string>>("StrayRuns", "for stray runs")
                             .value_or(std::vector<std::string>{}));
    });
    return future.get();
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
        if (brokerAbsent(e))
        {
            deferred_.emplace_back(method, runId);
            return;
        }
        logMessage(LOG_WARNING, std::string("pyrunnerd: the broker's ") + method + " for run " +
                                    runId + " failed: " + e.getMessage());
    }
}

void BrokerClient::onBrokerOwner(sdbus::Message& message)
{
    std::string name;
    std::string oldOwner;
    std::string newOwner;
    message >> name >> oldOwner >> newOwner;
    if (newOwner.empty())
    {
        brokerUp_ = false;
        logMessage(LOG_WARNING, "pyrunnerd: the sandbox broker went away; runs in flight wait "
                                "for it to come back");
        return;
    }
    brokerArrived();
}

void BrokerClient::brokerArrived()
{
    brokerUp_ = true;
    logMessage(LOG_INFO, "pyrunnerd: the sandbox broker is there; following " +
                             std::to_string(runs_.size()) + " runs again");
    if (onBrokerBack_)
    {
        onBrokerBack_();
    }
    fetchLayers();
    environmentsChanged();
    for (const auto& [method, runId] : std::exchange(deferred_, {}))
    {
        callBroker(method, runId);
    }
    for (const auto& id : std::exchange(idle_, {}))
    {
        core::UnitOutcome gone;
        gone.started = true;
        gone.error = "Its broker went away before the warm unit was given a run.";
        endRun(id, gone);
    }
    std::vector<std::string> ids;
    ids.reserve(runs_.size());
    for (const auto& [id, callbacks] : runs_)
    {
        ids.push_back(id);
    }
    for (const auto& id : ids)
    {
        followOnBus(id);
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
    endRun(id, broker::fromWire(outcome));
}

void BrokerClient::endRun(const std::string& runId, core::UnitOutcome outcome)
{
    unconfirmed_.erase(runId);
    idle_.erase(runId);
    const auto node = runs_.extract(runId);
    if (node)
    {
        node.mapped().onExited(std::move(outcome));
    }
}

void BrokerClient::abandonAll()
{
    // The runs go on under systemd; whoever follows them next needs them unfinished in the
    // store, so they are not ended here.
    runs_.clear();
    unconfirmed_.clear();
    idle_.clear();
    if (onConnectionLost_)
    {
        onConnectionLost_();
    }
}

} // namespace pyrunner::systemd
