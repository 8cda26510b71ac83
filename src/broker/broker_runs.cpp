#include "broker/broker_runs.hpp"

#include "broker/admission.hpp"
#include "broker/run_journal.hpp"
#include "common/cgroup_stats.hpp"
#include "common/unit_end.hpp"
#include "protocol/broker_errors.hpp"

#include <exception>
#include <sys/stat.h>
#include <syslog.h>
#include <system_error>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// The tar of `limits.filesBytes` in at most `limits.filesCount` files, with their directories:
// a header of a few 512-byte blocks for each entry, and each file's last block padded.
std::uint64_t largestFilesIn(const core::Limits& limits)
{
    constexpr std::uint64_t perEntry = 4ULL * 512ULL;
    constexpr std::uint64_t slack = 1024ULL * 1024ULL;
    return limits.filesBytes + 2 * std::uint64_t{limits.filesCount} * perEntry + slack;
}

bool bringsFiles(const core::SandboxRun& run)
{
    struct stat st
    {
    };
    return !run.entry.empty() ||
           (run.filesIn && *run.filesIn && ::fstat(run.filesIn->get(), &st) == 0 && st.st_size > 0);
}

Refusal cannotPrepare(const std::exception& e)
{
    return Refusal{broker::errors::failed,
                   std::string("Cannot prepare the run: ") + e.what() + "."};
}

} // namespace

BrokerRuns::BrokerRuns(SystemdSandbox& sandbox, const core::RunFiles& files,
                       EnvironmentManager& environments, const BrokerSettings& settings,
                       Events events)
    : sandbox_(sandbox), files_(files), environments_(environments), settings_(settings),
      events_(std::move(events))
{
}

std::optional<Refusal> BrokerRuns::start(core::SandboxRun run)
{
    if (auto refusal = checkRun(run, settings_.policy))
    {
        return refusal;
    }
    if (sandbox_.preparedAndEnded(run.id))
    {
        // The front took the unit as its end was on the way to it.
        return Refusal{broker::errors::failed,
                       "The warm unit given this run ended as the run arrived; submit it again."};
    }
    const auto interpreter = environments_.interpreterOf(run.environment);
    const auto warm = sandbox_.isPrepared(run.id)
                          ? std::optional(WarmUnitFor{sandbox_.preparedEnvironment(run.id),
                                                      sandbox_.preparedTenant(run.id)})
                          : std::nullopt;
    auto placed = placeRun(std::move(run), interpreter, warm);
    if (auto* refusal = std::get_if<Refusal>(&placed))
    {
        return std::move(*refusal);
    }
    auto& [path, admitted] = std::get<AdmittedRun>(placed);
    const auto id = admitted.id;
    if (auto refusal = capSlice(admitted.slice))
    {
        return refusal;
    }
    if (path == StartPath::warm)
    {
        // A warm unit was started before its run was known, with nothing of it bound in.
        if (bringsFiles(admitted))
        {
            return Refusal{broker::errors::invalidRun, "A warm unit takes no files."};
        }
        // Its warm unit and files are there; the code goes into the file the unit has bound
        // in, then the run goes to it over its handover FIFO.
        try
        {
            files_.fillCode(id, admitted.code);
            files_.writeOutputCap(id, admitted.limits.outputBytes);
        }
        catch (const std::exception& e)
        {
            return cannotPrepare(e);
        }
        registry_.handedOver(id);
        admitted.outputDir = files_.path(id);
        sandbox_.startPrepared(admitted, callbacksFor(id));
        return std::nullopt;
    }
    if (auto refusal = createFiles(admitted))
    {
        return refusal;
    }
    if (path == StartPath::afterBuild)
    {
        startAfterBuild(std::move(admitted));
        return std::nullopt;
    }
    registry_.starting(id);
    sandbox_.start(std::move(admitted), callbacksFor(id));
    return std::nullopt;
}

std::optional<Refusal> BrokerRuns::capSlice(const core::TenantSlice& slice)
{
    if (auto error = sandbox_.capTenantSlice(slice))
    {
        return Refusal{broker::errors::failed, "The caps of tenant " + slice.tenant +
                                                   " could not be set, so none of its runs "
                                                   "starts: " +
                                                   *error + "."};
    }
    return std::nullopt;
}

std::optional<Refusal> BrokerRuns::createFiles(core::SandboxRun& run)
{
    try
    {
        run.outputDir = files_.create(run.id, settings_.frontGid);
        files_.writeCode(run.id, run.code);
        files_.writePrivate(run.id, core::RunFiles::stdinName, run.stdinData);
        files_.writeOutputCap(run.id, run.limits.outputBytes);
        run.bringsFiles =
            run.filesIn && *run.filesIn &&
            files_.copyFilesIn(run.id, run.filesIn->get(), largestFilesIn(run.limits));
    }
    catch (const std::exception& e)
    {
        return cannotPrepare(e);
    }
    run.filesIn.reset();
    if (!run.entry.empty() && !run.bringsFiles)
    {
        return Refusal{broker::errors::invalidRun, "A run with an entry must bring files."};
    }
    return std::nullopt;
}

void BrokerRuns::startAfterBuild(core::SandboxRun run)
{
    registry_.waitForEnvironment(run.id);
    core::NormalisedRequirements requirements{run.requirements};
    environments_.resolveRequirements(
        requirements, [this, run = std::move(run)](
                          std::variant<core::Interpreter, std::string> resolved) mutable {
            if (!registry_.environmentReady(run.id))
            {
                // Killed while it waited: already reported ended.
                return;
            }
            if (const auto* error = std::get_if<std::string>(&resolved))
            {
                registry_.endedWithoutUnit(run.id);
                core::UnitOutcome unbuilt;
                unbuilt.error = *error;
                events_.exited(run.id, unbuilt);
                return;
            }
            run.interpreter = std::get<core::Interpreter>(resolved);
            const auto id = run.id;
            sandbox_.start(std::move(run), callbacksFor(id));
        });
}

std::optional<Refusal> BrokerRuns::prepare(const std::string& id, const std::string& environment,
                                           const core::TenantSlice& slice, const std::string& owner)
{
    if (auto refusal = checkRunId(id))
    {
        return refusal;
    }
    auto admitted = admitWarmUnit(id, environment, slice, environments_.warmable(environment),
                                  settings_.policy.limits.defaults);
    if (auto* refusal = std::get_if<Refusal>(&admitted))
    {
        return std::move(*refusal);
    }
    auto& prepared = std::get<core::SandboxRun>(admitted);
    if (auto refusal = capSlice(prepared.slice))
    {
        return refusal;
    }
    try
    {
        // Fails if the id was used before, as for StartRun.
        prepared.outputDir = files_.create(id, settings_.frontGid);
        // Bound into the unit from its start, filled at the handover.
        files_.writeCode(id, "");
    }
    catch (const std::exception& e)
    {
        return cannotPrepare(e);
    }
    registry_.prepared(id, owner);
    sandbox_.prepare(prepared, settings_.policy.limits.maxima, callbacksFor(id));
    return std::nullopt;
}

std::variant<std::string, Refusal> BrokerRuns::follow(const std::string& id)
{
    if (auto refusal = checkRunId(id))
    {
        return std::move(*refusal);
    }
    // One whose unit is ending is not followed twice: its RunExited has gone out, and asked
    // again once its unit is gone, its record answers.
    if (registry_.isTracked(id))
    {
        return "following";
    }
    if (sandbox_.follow(id, callbacksFor(id), files_.openHandover(id), files_.path(id),
                        files_.outputCap(id)))
    {
        registry_.followed(id);
        return "following";
    }
    if (const auto recorded = core::outcomeOf(files_.unitEnd(id)))
    {
        events_.exited(id, *recorded);
        return "ended";
    }
    // Neither a unit nor a record: the run never started (the broker stopped between
    // preparing it and starting its unit). Its directory goes, so it can be started anew.
    files_.remove(id);
    return "unknown";
}

std::vector<std::string> BrokerRuns::strays()
{
    auto ids = sandbox_.loadedRuns();
    std::erase_if(ids, [this](const std::string& id) { return registry_.isTracked(id); });
    return ids;
}

std::optional<Refusal> BrokerRuns::kill(const std::string& id)
{
    if (auto refusal = checkRunId(id))
    {
        return refusal;
    }
    if (registry_.killWhileWaiting(id))
    {
        core::UnitOutcome stopped;
        stopped.error = "The run was stopped while its environment was being built.";
        events_.exited(id, stopped);
        return std::nullopt;
    }
    // Also a run this broker does not follow: after a restart the front stops units of
    // runs it does not know. The id names only a run unit, nothing else.
    sandbox_.kill(id);
    return std::nullopt;
}

std::optional<Refusal> BrokerRuns::release(const std::string& id)
{
    if (auto refusal = checkRunId(id))
    {
        return refusal;
    }
    const auto decision = registry_.release(id);
    if (decision == RunRegistry::Release::refused)
    {
        return Refusal{broker::errors::runInProgress,
                       "The run is still going on; it can be released once it ends."};
    }
    if (decision == RunRegistry::Release::now)
    {
        files_.remove(id);
    }
    return std::nullopt;
}

void BrokerRuns::ownerGone(const std::string& owner)
{
    for (const auto& id : registry_.ownerGone(owner))
    {
        send(runEntry(LOG_INFO, id, "warm_unit_abandoned",
                      "The front that prepared the warm unit of run " + id +
                          " has left; the unit is stopped."));
        sandbox_.kill(id);
    }
}

core::SandboxCallbacks BrokerRuns::callbacksFor(const std::string& id)
{
    core::SandboxCallbacks callbacks;
    callbacks.onStarted = [this, id] { events_.started(id); };
    callbacks.onExited = [this, id](const core::UnitOutcome& outcome) { unitExited(id, outcome); };
    callbacks.onUnitGone = [this, id] {
        if (registry_.unitGone(id))
        {
            files_.remove(id);
        }
    };
    return callbacks;
}

void BrokerRuns::unitExited(const std::string& id, const core::UnitOutcome& outcome)
{
    const auto exit = registry_.exited(id);
    writeStopRecord(id, outcome);
    // Losing sight of the unit (systemd re-executing, the unit collected before its
    // properties were read) is no loss when its stop record is there.
    const auto recorded = outcome.started ? std::nullopt : core::outcomeOf(files_.unitEnd(id));
    const auto& seen = recorded.value_or(outcome);
    send(unitEndEntry(id, exit.idleWarm, seen));
    events_.exited(id, seen);
}

void BrokerRuns::writeStopRecord(const std::string& id, const core::UnitOutcome& outcome)
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
        send(runEntry(LOG_ERR, id, "stop_record_failed",
                      "The cgroup figures of run " + id + " could not be written: " + e.what()));
    }
}

} // namespace pyrunner::systemd
