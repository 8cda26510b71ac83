#include "broker/broker_service.hpp"

#include "broker/run_journal.hpp"
#include "common/run_id.hpp"
#include "common/tenant.hpp"
#include "daemon/journal.hpp"

#include <csignal>
#include <fcntl.h>
#include <memory>
#include <syslog.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// The stop-post helper's record, with the limits the broker read while the unit ran where
// the record lacks them.
core::CgroupStats withLiveLimits(core::CgroupStats recorded,
                                 const std::optional<core::CgroupStats>& live)
{
    if (live)
    {
        recorded.memoryLimitBytes =
            recorded.memoryLimitBytes ? recorded.memoryLimitBytes : live->memoryLimitBytes;
        recorded.tasksLimit = recorded.tasksLimit ? recorded.tasksLimit : live->tasksLimit;
        recorded.cpuQuotaUsec = recorded.cpuQuotaUsec ? recorded.cpuQuotaUsec : live->cpuQuotaUsec;
    }
    return recorded;
}

constexpr const char* onlyTheFront = "Only pyrunner's HTTP front may ask for runs.";

// The call's error reply.
[[noreturn]] void refuse(const Refusal& refusal)
{
    throw sdbus::Error(std::string(refusal.error), refusal.message);
}

void refuseIf(const std::optional<Refusal>& refusal)
{
    if (refusal)
    {
        refuse(*refusal);
    }
}

core::SandboxRun runOf(const std::string& id, const std::vector<std::uint8_t>& code,
                       const std::vector<std::uint8_t>& stdinData,
                       const std::vector<std::string>& args, const broker::WireLimits& limits,
                       const std::string& environment, const std::vector<std::string>& requirements,
                       const broker::WireSlice& slice)
{
    core::SandboxRun run;
    run.id = id;
    run.code.assign(code.begin(), code.end());
    run.stdinData.assign(stdinData.begin(), stdinData.end());
    run.args = args;
    run.limits = broker::fromWire(limits);
    run.environment = environment;
    run.requirements = requirements;
    run.slice = broker::fromWire(slice);
    return run;
}

// The journal fields that name the tenant of a run, if it has one; only a well-formed name,
// since it is the caller's.
JournalFields tenantFields(const std::string& tenant)
{
    return core::isTenantName(tenant) ? JournalFields{{"TENANT", tenant}} : JournalFields{};
}

} // namespace

BrokerService::BrokerService(SystemdSandbox& sandbox, const core::RunFiles& files,
                             EnvironmentManager& environments, const BrokerSettings& settings)
    : AdaptorInterfaces(sandbox.connection(), broker::objectPath), sandbox_(sandbox), files_(files),
      environments_(environments), settings_(settings), callers_(sandbox.connection()),
      runs_(sandbox, files, environments, settings, runEvents())
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
    registerAdaptor();
}

BrokerService::~BrokerService()
{
    unregisterAdaptor();
}

BrokerRuns::Events BrokerService::runEvents()
{
    BrokerRuns::Events events;
    events.started = [this](const std::string& id) { emitRunStarted(id); };
    events.exited = [this](const std::string& id, const core::UnitOutcome& outcome) {
        emitRunExited(id, broker::toWire(outcome));
    };
    return events;
}

void BrokerService::connectionGone(const std::string& uniqueName)
{
    callers_.forget(uniqueName);
    runs_.ownerGone(uniqueName);
}

std::string BrokerService::caller()
{
    const auto* message = getObject().getCurrentlyProcessedMessage();
    return message != nullptr ? message->getSender() : std::string();
}

void BrokerService::requireFront()
{
    refuseIf(callers_.require(caller(), settings_.frontUid, onlyTheFront));
}

void BrokerService::StartRun(const std::string& id, const std::vector<std::uint8_t>& code,
                             const std::vector<std::uint8_t>& stdinData,
                             const std::vector<std::string>& args, const broker::WireLimits& limits,
                             const std::string& environment,
                             const std::vector<std::string>& requirements,
                             const broker::WireSlice& slice)
{
    start(runOf(id, code, stdinData, args, limits, environment, requirements, slice));
}

void BrokerService::StartRunWithFiles(const std::string& id, const std::vector<std::uint8_t>& code,
                                      const std::vector<std::uint8_t>& stdinData,
                                      const std::vector<std::string>& args,
                                      const broker::WireLimits& limits,
                                      const std::string& environment,
                                      const std::vector<std::string>& requirements,
                                      const broker::WireSlice& slice, const std::string& entry,
                                      const sdbus::UnixFd& files)
{
    auto run = runOf(id, code, stdinData, args, limits, environment, requirements, slice);
    run.entry = entry;
    // sdbus-c++ closes its own copy with the message; the broker reads the files later.
    run.filesIn = std::make_shared<const core::UniqueFd>(::fcntl(files.get(), F_DUPFD_CLOEXEC, 0));
    start(std::move(run));
}

void BrokerService::start(core::SandboxRun run)
{
    const auto id = run.id;
    // The bus peer that asked: the front's connection.
    const auto client = caller();
    auto fields = tenantFields(run.slice.tenant);
    fields.emplace_back("CLIENT", client);
    try
    {
        requireFront();
        refuseIf(runs_.start(std::move(run)));
    }
    catch (const sdbus::Error& e)
    {
        // The id is the caller's: only a well-formed one goes into the log.
        const auto shown = core::isRunId(id) ? id : std::string("with a malformed id");
        send(runEntry(LOG_ERR, shown, "start_failed",
                      "The broker did not start run " + shown + ": " + e.getMessage(), fields));
        throw;
    }
    send(runEntry(LOG_INFO, id, "starting", "The broker starts run " + id + ".", fields));
}

void BrokerService::PrepareRun(const std::string& id, const std::string& environment,
                               const broker::WireSlice& slice)
{
    requireFront();
    refuseIf(runs_.prepare(id, environment, broker::fromWire(slice), caller()));
}

std::string BrokerService::FollowRun(const std::string& id)
{
    requireFront();
    auto state = runs_.follow(id);
    if (const auto* refusal = std::get_if<Refusal>(&state))
    {
        refuse(*refusal);
    }
    return std::get<std::string>(std::move(state));
}

std::vector<std::string> BrokerService::StrayRuns()
{
    requireFront();
    return runs_.strays();
}

void BrokerService::KillRun(const std::string& id)
{
    requireFront();
    refuseIf(runs_.kill(id));
}

void BrokerService::ReleaseRun(const std::string& id)
{
    requireFront();
    refuseIf(runs_.release(id));
}

LayerReport BrokerService::Layers()
{
    requireFront();
    return layers_;
}

std::vector<broker::WireEnvironment> BrokerService::Environments()
{
    requireFront();
    std::vector<broker::WireEnvironment> out;
    for (const auto& environment : environments_.list())
    {
        out.push_back(broker::toWire(environment));
    }
    return out;
}

void BrokerService::CreateEnvironment(sdbus::Result<std::string>&& result, std::string name,
                                      std::string requirements, std::string findLinks)
{
    refuseIf(callers_.require(caller(), 0, "Only root may create environments."));
    // Shared: the reply is move-only, the completion a std::function.
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    environments_.create(name, requirements, findLinks,
                         [reply](std::optional<std::string> error, const std::string& log) {
        if (error)
        {
            reply->returnError(
                sdbus::Error(broker::errors::failed,
                             "The environment was not created: " + *error + ".\n" + log));
            return;
        }
        reply->returnResults(log);
    });
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
    // The limits from the cgroups as the broker read them at the run's end: on a v1 host the
    // unit's memory cgroup may be gone by the time the stop-post helper looks.
    auto live = std::make_shared<std::optional<core::CgroupStats>>();
    callbacks.onExited = [live](const core::UnitOutcome& outcome) { *live = outcome.cgroupStats; };
    // What systemd put on the unit's cgroups is only in the stop-post helper's record, which
    // is whole once the unit is gone; not before then, either, go its files: systemd may yet
    // open them for the helper.
    callbacks.onUnitGone =
        [this, id = probe.id, limits = probe.limits, live, done = std::move(done)] {
        constexpr std::uint64_t reportMaxBytes = 4096;
        layers_ = layerReport(files_.read(id, core::RunFiles::stdoutName, reportMaxBytes).data,
                              withLiveLimits(files_.cgroupStats(id), *live), limits);
        files_.remove(id);
        environments_.probeAll([this, done] { takeBusName(done); });
    };
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

} // namespace pyrunner::systemd
