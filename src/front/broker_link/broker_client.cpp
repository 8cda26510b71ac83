#include "front/broker_link/broker_client.hpp"

#include "common/run_id.hpp"
#include "daemon/journal.hpp"
#include "front/broker_link/broker_proxy.hpp"
#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <system_error>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// Every call on the front's connection: the broker's and the bus's.
constexpr auto callTimeout = std::chrono::seconds(10);
// A start or follow the broker leaves unanswered is asked about again this often before the
// run ends in error: the broker's own calls to systemd may each take callTimeout.
constexpr unsigned maxUnanswered = 3;
// A run's end comes at the latest its wall time after it starts, and once its files are
// collected (itself bounded in time); past that as well, the broker is asked about it, and
// asked again this long after each time it says the run goes on (waiting for its
// environment's build, say).
constexpr auto endOverdueAfter = std::chrono::seconds(60);
constexpr const char* busService = "org.freedesktop.DBus";
constexpr const char* busPath = "/org/freedesktop/DBus";

std::vector<std::uint8_t> bytesOf(const std::string& text)
{
    return {text.begin(), text.end()};
}

// The broker's answer to `call`; nothing, and a warning that the broker could not be asked
// `question`, if the call fails.
template <typename Call>
std::optional<std::invoke_result_t<Call>> ask(const Call& call, const char* question)
{
    try
    {
        return call();
    }
    catch (const sdbus::Error& e)
    {
        logMessage(LOG_WARNING, std::string("pyrunnerd: cannot ask the broker ") + question + ": " +
                                    e.getMessage());
        return std::nullopt;
    }
}

// An empty file where the run's own are gone (a restart found the run queued, its files not):
// the broker then refuses the run, whose entry is nowhere.
sdbus::UnixFd filesOf(const core::SandboxRun& run)
{
    if (run.filesIn && *run.filesIn)
    {
        return sdbus::UnixFd(run.filesIn->get());
    }
    const core::UniqueFd none(::memfd_create("pyrunner-no-files", MFD_CLOEXEC));
    if (!none)
    {
        throw std::system_error(errno, std::generic_category(), "cannot make an empty file");
    }
    return sdbus::UnixFd(none.get());
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
        connection_->setMethodCallTimeout(callTimeout);
        // Subscribed before any run is asked for, so no run can end unseen.
        BrokerProxy::Signals signals;
        signals.runStarted = [this](const std::string& id) { onRunStarted(id); };
        signals.runExited = [this](const std::string& id, const core::UnitOutcome& outcome) {
            endRun(id, outcome);
        };
        signals.environmentsChanged = [this] { environmentsChanged(); };
        broker_ = std::make_unique<BrokerProxy>(*connection_, std::move(signals));
        brokerOwner_ = connection_->addMatch(
            std::string("type='signal',sender='") + busService + "',path='" + busPath +
                "',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
                broker::serviceName + "'",
            [this](sdbus::Message& m) { onBrokerOwner(m); });
        bool hasOwner = false;
        sdbus::createProxy(*connection_, busService, busPath)
            ->callMethod("NameHasOwner")
            .onInterface("org.freedesktop.DBus")
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
    dueTimer_ = core::UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!dueTimer_)
    {
        throw std::system_error(errno, std::generic_category(), "cannot make a timer");
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

void BrokerClient::fetchLayers()
{
    auto layers = ask([this] { return broker_->Layers(); }, "which layers hold")
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
    const auto wire = ask([this] { return broker_->Environments(); }, "for its environments");
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
        runs_.start(run, std::move(callbacks));
        expectEnd(run.id, std::chrono::seconds(run.limits.wallTimeS) + endOverdueAfter);
        if (brokerUp_)
        {
            sendStart(run);
        }
    });
}

void BrokerClient::sendStart(const core::SandboxRun& run, unsigned unanswered)
{
    try
    {
        if (run.filesIn || !run.entry.empty())
        {
            broker_->StartRunWithFiles(run.id, bytesOf(run.code), bytesOf(run.stdinData), run.args,
                                       broker::toWire(run.limits), run.environment,
                                       run.requirements, broker::toWire(run.slice), run.entry,
                                       filesOf(run));
        }
        else
        {
            broker_->StartRun(run.id, bytesOf(run.code), bytesOf(run.stdinData), run.args,
                              broker::toWire(run.limits), run.environment, run.requirements,
                              broker::toWire(run.slice));
        }
        runs_.startAnswered(run.id);
    }
    catch (const sdbus::Error& e)
    {
        switch (callFailure(e.getName()))
        {
        case CallFailure::brokerAbsent:
            return;
        case CallFailure::noAnswer:
            askAgain(run.id, unanswered + 1);
            return;
        case CallFailure::refused:
            break;
        }
        runs_.startAnswered(run.id);
        core::UnitOutcome refused;
        refused.error = "The sandbox broker did not start the run: " + e.getMessage();
        endRun(run.id, refused);
    }
    catch (const std::system_error& e)
    {
        runs_.startAnswered(run.id);
        core::UnitOutcome refused;
        refused.error = std::string("The run's files could not be passed on: ") + e.what();
        endRun(run.id, refused);
    }
}

void BrokerClient::askAgain(const std::string& runId, unsigned unanswered)
{
    if (unanswered > maxUnanswered)
    {
        // Its unit, if the broker started one after all, must not run unwatched.
        sendRequest(FollowedRuns::Request::kill, runId);
        core::UnitOutcome lost;
        lost.error = "The sandbox broker did not answer about the run in time, " +
                     std::to_string(unanswered) + " times over.";
        endRun(runId, lost);
        return;
    }
    // Behind whatever else waits for the bus thread, the run's own signals included: a run
    // that ended meanwhile needs no question.
    bus_->post([this, runId, unanswered] {
        if (runs_.find(runId) != nullptr && brokerUp_)
        {
            followOnBus(runId, unanswered);
        }
    });
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
                           const core::TenantSlice& slice, core::SandboxCallbacks callbacks)
{
    bus_->post([this, runId, environment, wireSlice = broker::toWire(slice),
                callbacks = std::move(callbacks)]() mutable {
        runs_.prepare(runId, std::move(callbacks));
        try
        {
            broker_->PrepareRun(runId, environment, wireSlice);
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
        runs_.follow(runId, std::move(callbacks));
        expectEnd(runId, endOverdueAfter);
        if (brokerUp_)
        {
            followOnBus(runId);
        }
    });
}

void BrokerClient::followOnBus(const std::string& runId, unsigned unanswered)
{
    std::string state;
    try
    {
        // The broker takes calls in order: its answer tells what became of any earlier call
        // about the run, a start it answered too late included.
        state = broker_->FollowRun(runId);
    }
    catch (const sdbus::Error& e)
    {
        switch (callFailure(e.getName()))
        {
        case CallFailure::brokerAbsent:
            return;
        case CallFailure::noAnswer:
            askAgain(runId, unanswered + 1);
            return;
        case CallFailure::refused:
            break;
        }
        core::UnitOutcome lost;
        lost.error = "The sandbox broker cannot follow the run: " + e.getMessage();
        endRun(runId, lost);
        return;
    }
    switch (runs_.afterFollow(runId, state))
    {
    case FollowedRuns::AfterFollow::nothing:
        runs_.startAnswered(runId);
        if (state == "following")
        {
            expectEnd(runId, endOverdueAfter);
        }
        return;
    case FollowedRuns::AfterFollow::sendStartAgain:
        sendStart(runs_.unansweredStart(runId), unanswered);
        return;
    case FollowedRuns::AfterFollow::vanished:
    {
        core::UnitOutcome vanished;
        vanished.vanished = true;
        vanished.error = "The run's unit is gone and left no record of how it ended.";
        endRun(runId, vanished);
        return;
    }
    }
}

std::vector<std::string> BrokerClient::strayRuns()
{
    std::promise<std::vector<std::string>> answer;
    auto future = answer.get_future();
    bus_->post([this, &answer] {
        answer.set_value(ask([this] { return broker_->StrayRuns(); }, "for stray runs")
                             .value_or(std::vector<std::string>{}));
    });
    return future.get();
}

void BrokerClient::kill(const std::string& runId)
{
    bus_->post([this, runId] { sendRequest(FollowedRuns::Request::kill, runId); });
}

void BrokerClient::release(const std::string& runId)
{
    bus_->post([this, runId] { sendRequest(FollowedRuns::Request::release, runId); });
}

void BrokerClient::sendRequest(FollowedRuns::Request request, const std::string& runId)
{
    const bool kill = request == FollowedRuns::Request::kill;
    try
    {
        if (kill)
        {
            broker_->KillRun(runId);
        }
        else
        {
            broker_->ReleaseRun(runId);
        }
    }
    catch (const sdbus::Error& e)
    {
        if (callFailure(e.getName()) != CallFailure::refused)
        {
            runs_.defer(request, runId);
            return;
        }
        logMessage(LOG_WARNING, std::string("pyrunnerd: the broker did not ") +
                                    (kill ? "kill" : "release") + " run " + runId + ": " +
                                    e.getMessage());
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
    const auto arrival = runs_.brokerArrived();
    for (const auto& [request, runId] : arrival.resend)
    {
        sendRequest(request, runId);
    }
    for (const auto& id : arrival.warmGone)
    {
        core::UnitOutcome gone;
        gone.started = true;
        gone.error = "Its broker went away before the warm unit was given a run.";
        endRun(id, gone);
    }
    for (const auto& id : arrival.follow)
    {
        followOnBus(id);
    }
}

void BrokerClient::onRunStarted(const std::string& runId)
{
    const auto* callbacks = runs_.find(runId);
    if (callbacks != nullptr && callbacks->onStarted)
    {
        callbacks->onStarted();
    }
}

void BrokerClient::endRun(const std::string& runId, core::UnitOutcome outcome)
{
    if (auto callbacks = runs_.end(runId))
    {
        callbacks->onExited(std::move(outcome));
    }
}

void BrokerClient::expectEnd(const std::string& runId, std::chrono::seconds within)
{
    runs_.expectEnd(runId, FollowedRuns::Clock::now() + within);
    armDueTimer();
}

void BrokerClient::armDueTimer()
{
    itimerspec when{};
    if (const auto next = runs_.nextDue())
    {
        // steady_clock is CLOCK_MONOTONIC; an all-zero time would disarm the timer.
        const auto ns = std::max<std::int64_t>(
            1,
            std::chrono::duration_cast<std::chrono::nanoseconds>(next->time_since_epoch()).count());
        constexpr std::int64_t nsPerSecond = 1'000'000'000;
        when.it_value.tv_sec = static_cast<time_t>(ns / nsPerSecond);
        when.it_value.tv_nsec = static_cast<long>(ns % nsPerSecond);
    }
    ::timerfd_settime(dueTimer_.get(), TFD_TIMER_ABSTIME, &when, nullptr);
    dueWatch_ = bus_->watchReadable(dueTimer_.get(), [this] { onEndsDue(); });
}

void BrokerClient::onEndsDue()
{
    std::uint64_t expirations = 0;
    // Drained so that it is not readable again until it next expires.
    [[maybe_unused]] const auto drained = ::read(dueTimer_.get(), &expirations, sizeof expirations);
    const auto overdue = runs_.overdue(FollowedRuns::Clock::now());
    armDueTimer();
    if (!brokerUp_)
    {
        // Every run is followed again when a broker arrives.
        return;
    }
    for (const auto& id : overdue)
    {
        logMessage(LOG_WARNING, "pyrunnerd: no end heard of run " + id +
                                    " when it was due; asking the broker about it");
        followOnBus(id);
    }
}

void BrokerClient::abandonAll()
{
    // The runs go on under systemd; whoever follows them next needs them unfinished in the
    // store, so they are not ended here.
    runs_.forgetAll();
    if (onConnectionLost_)
    {
        onConnectionLost_();
    }
}

} // namespace pyrunner::systemd
