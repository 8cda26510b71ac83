#include "broker/broker_service.hpp"

#include "broker/units/unit_properties.hpp"
#include "common/cgroup_stats.hpp"
#include "common/environment_requirements.hpp"
#include "common/run_id.hpp"
#include "common/unit_end.hpp"
#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <csignal>
#include <exception>
#include <syslog.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr const char* invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* accessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* failed = "org.freedesktop.DBus.Error.Failed";

std::string textOf(const std::vector<std::uint8_t>& bytes)
{
    return {bytes.begin(), bytes.end()};
}

void requireRunId(const std::string& id)
{
    if (!core::isRunId(id))
    {
        throw sdbus::Error(invalidArgs, "The run id must be 32 lowercase hex digits.");
    }
}

// The front sends requirements normalised and the environment named after them; anything else
// is refused, so that a run never gets an environment built for another list.
std::optional<std::string> checkRequirements(const std::string& environment,
                                             const std::vector<std::string>& requirements)
{
    if (requirements.empty())
    {
        return std::nullopt;
    }
    const auto normalised = core::normaliseRequirements(requirements);
    if (const auto* problem = std::get_if<std::string>(&normalised))
    {
        return *problem;
    }
    const auto& list = std::get<core::NormalisedRequirements>(normalised);
    if (list.entries != requirements || core::requirementsEnvironmentName(list) != environment)
    {
        return "The requirements must come normalised, in the environment named after them.";
    }
    return std::nullopt;
}

} // namespace

BrokerService::BrokerService(SystemdSandbox& sandbox, const core::RunFiles& files,
                             EnvironmentManager& environments, const BrokerSettings& settings)
    : sandbox_(sandbox), files_(files), environments_(environments), settings_(settings),
      object_(sdbus::createObject(sandbox.connection(), broker::objectPath)),
      busDaemon_(
          sdbus::createProxy(sandbox.connection(), "org.freedesktop.DBus", "/org/freedesktop/DBus"))
{
    // Only the bus itself may send as org.freedesktop.DBus. arg2 is the new owner: none.
    departures_ = sandbox.connection().addMatch(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
        [this](sdbus::Message& message) {
        std::string name;
        std::string oldOwner;
        message >> name >> oldOwner;
        // A unique name is its own owner; well-known names come and go with their owners.
        if (name == oldOwner)
        {
            connectionGone(name);
        }
        });
    const auto* iface = broker::interfaceName;
    object_->registerMethod("StartRun")
        .onInterface(iface)
        .withInputParamNames("id", "code", "stdin", "args", "limits", "environment", "requirements")
        .implementedAs(
            [this](const std::string& id, const std::vector<std::uint8_t>& code,
                   const std::vector<std::uint8_t>& stdinData, const std::vector<std::string>& args,
                   const broker::WireLimits& limits, const std::string& environment,
                   const std::vector<std::string>& requirements) {
        // The bus peer that asked: the front's connection.
        const auto* asking = object_->getCurrentlyProcessedMessage();
        const auto client = asking != nullptr ? asking->getSender() : std::string();
        try
        {
            startRun(id, code, stdinData, args, limits, environment, requirements);
        }
        catch (const sdbus::Error& e)
        {
            // The id is the caller's: only a well-formed one goes into the log.
            const auto shown = core::isRunId(id) ? id : std::string("with a malformed id");
            logRun(LOG_ERR, shown, "start_failed",
                   "The broker did not start run " + shown + ": " + e.getMessage(),
                   {{"CLIENT", client}});
            throw;
        }
        logRun(LOG_INFO, id, "starting", "The broker starts run " + id + ".", {{"CLIENT", client}});
        });
    object_->registerMethod("PrepareRun")
        .onInterface(iface)
        .withInputParamNames("id", "environment")
        .implementedAs([this](const std::string& id, const std::string& environment) {
            prepareRun(id, environment);
        });
    object_->registerMethod("FollowRun")
        .onInterface(iface)
        .withInputParamNames("id")
        .withOutputParamNames("state")
        .implementedAs([this](const std::string& id) { return followRun(id); });
    object_->registerMethod("StrayRuns")
        .onInterface(iface)
        .withOutputParamNames("ids")
        .implementedAs([this] { return strayRuns(); });
    object_->registerMethod("KillRun").onInterface(iface).withInputParamNames("id").implementedAs(
        [this](const std::string& id) { killRun(id); });
    object_->registerMethod("ReleaseRun")
        .onInterface(iface)
        .withInputParamNames("id")
        .implementedAs([this](const std::string& id) { releaseRun(id); });
    object_->registerMethod("Layers")
        .onInterface(iface)
        .withOutputParamNames("layers")
        .implementedAs([this] {
            requireFront();
            return layers_;
        });
    object_->registerMethod("Environments")
        .onInterface(iface)
        .withOutputParamNames("environments")
        .implementedAs([this] { return environmentList(); });
    object_->registerMethod("CreateEnvironment")
        .onInterface(iface)
        .withInputParamNames("name", "requirements", "find_links")
        .withOutputParamNames("log")
        .implementedAs([this](sdbus::Result<std::string>&& result, const std::string& name,
                              const std::string& requirements, const std::string& findLinks) {
            createEnvironment(std::move(result), name, requirements, findLinks);
        });
    object_->registerSignal("EnvironmentsChanged").onInterface(iface);
    object_->registerSignal("RunStarted").onInterface(iface).withParameters<std::string>("id");
    object_->registerSignal("RunExited")
        .onInterface(iface)
        .withParameters<std::string, broker::WireOutcome>("id", "outcome");
    object_->finishRegistration();
}

BrokerService::~BrokerService() = default;

std::optional<std::uint32_t> BrokerService::callerUid()
{
    const auto* message = object_->getCurrentlyProcessedMessage();
    if (message == nullptr)
    {
        return std::nullopt;
    }
    // The bus never gives a unique name to a second connection, and tells the uid it took
    // from the peer's socket when it connected, so one answer per caller holds for good.
    const std::string sender = message->getSender();
    if (const auto known = callerUids_.find(sender); known != callerUids_.end())
    {
        return known->second;
    }
    std::uint32_t uid = 0;
    try
    {
        busDaemon_->callMethod("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withArguments(sender)
            .storeResultsTo(uid);
    }
    catch (const sdbus::Error&)
    {
        // Disconnected meanwhile: nobody to answer.
        return std::nullopt;
    }
    // Only the front's and root's connections get through the bus policy; a bound keeps a
    // stream of reconnections from growing it.
    constexpr std::size_t maxCallers = 64;
    if (callerUids_.size() >= maxCallers)
    {
        callerUids_.clear();
    }
    callerUids_.emplace(sender, uid);
    return uid;
}

void BrokerService::connectionGone(const std::string& uniqueName)
{
    callerUids_.erase(uniqueName);
    for (auto it = idleWarm_.begin(); it != idleWarm_.end();)
    {
        if (it->second != uniqueName)
        {
            ++it;
            continue;
        }
        logRun(LOG_INFO, it->first, "warm_unit_abandoned",
               "The front that prepared the warm unit of run " + it->first +
                   " has left; the unit is stopped.");
        abandoned_.insert(it->first);
        sandbox_.kill(it->first);
        it = idleWarm_.erase(it);
    }
}

void BrokerService::requireFront()
{
    if (callerUid() != settings_.frontUid)
    {
        throw sdbus::Error(accessDenied, "Only pyrunner's HTTP front may ask for runs.");
    }
}

void BrokerService::startRun(const std::string& id, const std::vector<std::uint8_t>& code,
                             const std::vector<std::uint8_t>& stdinData,
                             const std::vector<std::string>& args, const broker::WireLimits& limits,
                             const std::string& environment,
                             const std::vector<std::string>& requirements)
{
    requireFront();
    core::SandboxRun run;
    run.id = id;
    run.code = textOf(code);
    run.stdinData = textOf(stdinData);
    run.args = args;
    run.limits = broker::fromWire(limits);
    run.environment = environment;
    run.requirements = requirements;
    if (auto problem = core::checkSandboxRun(run, settings_.policy))
    {
        throw sdbus::Error(invalidArgs, *problem);
    }
    if (auto problem = checkRequirements(environment, requirements))
    {
        throw sdbus::Error(invalidArgs, *problem);
    }
    const auto interpreter = environments_.interpreterOf(environment);
    if (!interpreter && requirements.empty())
    {
        throw sdbus::Error(invalidArgs, "There is no environment \"" + environment + "\".");
    }
    if (interpreter)
    {
        run.interpreter = *interpreter;
    }
    if (sandbox_.isPrepared(id))
    {
        if (!requirements.empty() || sandbox_.preparedEnvironment(id) != environment)
        {
            throw sdbus::Error(invalidArgs, "The run's warm unit was started for another "
                                            "environment.");
        }
        // Its warm unit and files are there; the run goes to it over its handover FIFO.
        idleWarm_.erase(id);
        run.outputDir = files_.path(id);
        sandbox_.startPrepared(run, callbacksFor(id));
        return;
    }
    try
    {
        // Fails if the id was used before: a run's directory is never reused.
        run.outputDir = files_.create(id, settings_.frontGid);
        files_.writeCode(id, run.code);
        files_.writePrivate(id, core::RunFiles::stdinName, run.stdinData);
    }
    catch (const std::exception& e)
    {
        throw sdbus::Error(failed, std::string("Cannot prepare the run: ") + e.what() + ".");
    }
    active_.insert(id);
    if (!interpreter)
    {
        startWithRequirements(std::move(run));
        return;
    }
    sandbox_.start(std::move(run), callbacksFor(id));
}

void BrokerService::startWithRequirements(core::SandboxRun run)
{
    const auto id = run.id;
    waitingForEnvironment_.insert(id);
    core::NormalisedRequirements requirements{run.requirements};
    environments_.resolveRequirements(
        requirements, [this, run = std::move(run)](
                          std::variant<core::Interpreter, std::string> resolved) mutable {
            if (waitingForEnvironment_.erase(run.id) == 0)
            {
                // Killed while it waited: already reported ended.
                return;
            }
            if (const auto* error = std::get_if<std::string>(&resolved))
            {
                active_.erase(run.id);
                core::UnitOutcome unbuilt;
                unbuilt.error = *error;
                emitExited(run.id, unbuilt);
                return;
            }
            run.interpreter = std::get<core::Interpreter>(resolved);
            const auto runId = run.id;
            sandbox_.start(std::move(run), callbacksFor(runId));
        });
}

std::vector<broker::WireEnvironment> BrokerService::environmentList()
{
    requireFront();
    std::vector<broker::WireEnvironment> out;
    for (const auto& environment : environments_.list())
    {
        out.push_back(broker::toWire(environment));
    }
    return out;
}

void BrokerService::createEnvironment(sdbus::Result<std::string>&& result, const std::string& name,
                                      const std::string& requirements, const std::string& findLinks)
{
    if (callerUid() != 0U)
    {
        throw sdbus::Error(accessDenied, "Only root may create environments.");
    }
    // Shared: the reply is move-only, the completion a std::function.
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    environments_.create(name, requirements, findLinks,
                         [reply](std::optional<std::string> error, const std::string& log) {
        if (error)
        {
            reply->returnError(
                sdbus::Error(failed, "The environment was not created: " + *error + ".\n" + log));
            return;
        }
        reply->returnResults(log);
    });
}

core::SandboxCallbacks BrokerService::callbacksFor(const std::string& id)
{
    core::SandboxCallbacks callbacks;
    callbacks.onStarted = [this, id] {
        object_->emitSignal("RunStarted").onInterface(broker::interfaceName).withArguments(id);
    };
    callbacks.onExited = [this, id](const core::UnitOutcome& outcome) {
        active_.erase(id);
        idleWarm_.erase(id);
        // An abandoned unit's files are as good as released.
        ending_.emplace(id, abandoned_.erase(id) != 0);
        writeStopRecord(id, outcome);
        // Losing sight of the unit (systemd re-executing, the unit collected before its
        // properties were read) is no loss when its stop record is there.
        const auto recorded = outcome.started ? std::nullopt : core::outcomeOf(files_.unitEnd(id));
        const auto& seen = recorded.value_or(outcome);
        logRun(seen.error.empty() ? LOG_INFO : LOG_ERR, id, "unit_ended",
               "The unit of run " + id + " ended" +
                   (seen.result.empty() ? "" : " with result " + seen.result) +
                   (seen.error.empty() ? "." : ": " + seen.error),
               {{"UNIT_RESULT", seen.result},
                {"END_SEEN_BY", seen.toldByKernel ? "kernel" : "systemd"},
                {"ERROR", seen.error}});
        emitExited(id, seen);
    };
    callbacks.onUnitGone = [this, id] {
        const auto it = ending_.find(id);
        if (it == ending_.end())
        {
            return;
        }
        if (it->second)
        {
            files_.remove(id);
        }
        ending_.erase(it);
    };
    return callbacks;
}

void BrokerService::logRun(int priority, const std::string& id, std::string_view status,
                           std::string message,
                           std::vector<std::pair<std::string_view, std::string>> extra) const
{
    JournalEntry entry{priority,
                       std::move(message),
                       message_ids::brokerRun,
                       {{"RUN_ID", core::isRunId(id) ? id : std::string()},
                        {"UNIT", core::isRunId(id) ? core::unitNameFor(id) : std::string()},
                        {"STATUS", std::string(status)}}};
    entry.fields.insert(entry.fields.end(), extra.begin(), extra.end());
    send(entry);
}

void BrokerService::writeStopRecord(const std::string& id, const core::UnitOutcome& outcome)
{
    if (!outcome.cgroupStats)
    {
        return;
    }
    try
    {
        files_.writeStopRecord(id, core::formatCgroupStats(*outcome.cgroupStats));
    }
    catch (const std::system_error& e)
    {
        // The front then judges the run without them, as when a helper could not write.
        logRun(LOG_ERR, id, "stop_record_failed",
               "The cgroup figures of run " + id + " could not be written: " + e.what());
    }
}

void BrokerService::emitExited(const std::string& id, const core::UnitOutcome& outcome)
{
    object_->emitSignal("RunExited")
        .onInterface(broker::interfaceName)
        .withArguments(id, broker::toWire(outcome));
}

void BrokerService::prepareRun(const std::string& id, const std::string& environment)
{
    requireFront();
    requireRunId(id);
    const auto known = environments_.warmable(environment);
    if (!known)
    {
        throw sdbus::Error(invalidArgs, "There is no environment \"" +
                                            (core::isEnvironmentName(environment)
                                                 ? environment
                                                 : std::string("with a malformed name")) +
                                            "\" that warm units may run.");
    }
    core::SandboxRun prepared;
    prepared.id = id;
    prepared.limits = settings_.policy.limits.defaults;
    // As a cold StartRun resolves it, so the run finds the same interpreter at handover.
    prepared.environment = environment;
    prepared.interpreter = known->interpreter;
    prepared.preImports = known->checkImports;
    try
    {
        // Fails if the id was used before, as for StartRun.
        prepared.outputDir = files_.create(id, settings_.frontGid);
    }
    catch (const std::exception& e)
    {
        throw sdbus::Error(failed, std::string("Cannot prepare the run: ") + e.what() + ".");
    }
    active_.insert(id);
    idleWarm_.emplace(id, object_->getCurrentlyProcessedMessage()->getSender());
    sandbox_.prepare(prepared, settings_.policy.limits.maxima, callbacksFor(id));
}

std::string BrokerService::followRun(const std::string& id)
{
    requireFront();
    requireRunId(id);
    if (active_.contains(id))
    {
        return "following";
    }
    if (sandbox_.follow(id, callbacksFor(id), files_.openHandover(id)))
    {
        active_.insert(id);
        return "following";
    }
    if (const auto recorded = core::outcomeOf(files_.unitEnd(id)))
    {
        emitExited(id, *recorded);
        return "ended";
    }
    // Neither a unit nor a record: the run never started (the broker stopped between
    // preparing it and starting its unit). Its directory goes, so it can be started anew.
    files_.remove(id);
    return "unknown";
}

std::vector<std::string> BrokerService::strayRuns()
{
    requireFront();
    auto ids = sandbox_.loadedRuns();
    std::erase_if(ids, [this](const std::string& id) {
        return active_.contains(id) || ending_.contains(id);
    });
    return ids;
}

void BrokerService::probeLayers(std::function<void(const LayerReport&)> done)
{
    core::SandboxRun probe;
    probe.id = core::newRunId();
    probe.code = std::string(layerProbeCode());
    probe.limits = settings_.policy.limits.defaults;
    probe.interpreter = environments_.defaultInterpreter();
    probe.outputDir = files_.create(probe.id, settings_.frontGid);
    files_.writeCode(probe.id, probe.code);
    core::SandboxCallbacks callbacks;
    callbacks.onExited = [this, id = probe.id, limits = probe.limits,
                          done = std::move(done)](const core::UnitOutcome& outcome) {
        constexpr std::uint64_t reportMaxBytes = 4096;
        layers_ = layerReport(files_.read(id, core::RunFiles::stdoutName, reportMaxBytes).data,
                              outcome.cgroupStats ? *outcome.cgroupStats : files_.cgroupStats(id),
                              limits);
        environments_.probeAll([this, done] { takeBusName(done); });
    };
    // Not before: systemd may yet open them for the stop-post helper.
    callbacks.onUnitGone = [this, id = probe.id] { files_.remove(id); };
    sandbox_.start(std::move(probe), std::move(callbacks));
}

void BrokerService::takeBusName(const std::function<void(const LayerReport&)>& done)
{
    // The name last: a front that sees the broker arrive finds the layers and environments
    // known.
    try
    {
        sandbox_.connection().requestName(broker::serviceName);
    }
    catch (const sdbus::Error& e)
    {
        // Another broker holds it, or the policy is missing: nothing to serve.
        logMessage(LOG_ERR, "pyrunner-broker cannot own " + std::string(broker::serviceName) +
                                ": " + e.getMessage());
        ::kill(::getpid(), SIGTERM);
    }
    done(layers_);
}

void BrokerService::emitEnvironmentsChanged()
{
    object_->emitSignal("EnvironmentsChanged").onInterface(broker::interfaceName);
}

void BrokerService::killRun(const std::string& id)
{
    requireFront();
    requireRunId(id);
    if (waitingForEnvironment_.erase(id) != 0)
    {
        active_.erase(id);
        core::UnitOutcome stopped;
        stopped.error = "The run was stopped while its environment was being built.";
        emitExited(id, stopped);
        return;
    }
    // Also a run this broker does not follow: after a restart the front stops units of
    // runs it does not know. The id names only a run unit, nothing else.
    sandbox_.kill(id);
}

void BrokerService::releaseRun(const std::string& id)
{
    requireFront();
    requireRunId(id);
    if (active_.contains(id))
    {
        throw sdbus::Error(invalidArgs,
                           "The run is still going on; it can be released once it ends.");
    }
    if (const auto it = ending_.find(id); it != ending_.end())
    {
        it->second = true;
        return;
    }
    files_.remove(id);
}

} // namespace pyrunner::systemd
