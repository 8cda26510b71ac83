#include "broker/sandbox/unit_tracker.hpp"

#include <limits>
#include <sys/wait.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t unknownUsage = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t nsecPerUsec = 1000;

template <class T> void take(std::optional<T>& mine, const std::optional<T>& changed)
{
    if (changed)
    {
        mine = changed;
    }
}

std::optional<std::uint64_t> knownTimestamp(const std::optional<std::uint64_t>& usec)
{
    return usec && *usec != 0 ? usec : std::nullopt;
}

bool isInactive(const std::string& activeState)
{
    return activeState == "inactive" || activeState == "failed";
}

std::string describeStartFailure(const std::string& jobResult, const core::UnitOutcome& outcome)
{
    return "systemd could not start the run's unit (start job " + jobResult + ", result " +
           (outcome.result.empty() ? "unknown" : outcome.result) + ", status " +
           std::to_string(outcome.execMainStatus) + ").";
}

// Never below zero: two readers of one cgroup may differ by a little.
std::uint64_t lessAtMost(std::uint64_t total, std::uint64_t before)
{
    return total > before ? total - before : 0;
}

} // namespace

void ServiceProperties::update(const ServiceProperties& changed)
{
    take(result, changed.result);
    take(execMainCode, changed.execMainCode);
    take(execMainStatus, changed.execMainStatus);
    take(execMainStartUsec, changed.execMainStartUsec);
    take(execMainExitUsec, changed.execMainExitUsec);
    take(mainPid, changed.mainPid);
    take(cpuUsageNsec, changed.cpuUsageNsec);
}

core::UnitOutcome ServiceProperties::outcome() const
{
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.result = result.value_or("");
    outcome.execMainCode = execMainCode.value_or(0);
    outcome.execMainStatus = execMainStatus.value_or(0);
    outcome.startMonotonicUsec = knownTimestamp(execMainStartUsec);
    outcome.exitMonotonicUsec = knownTimestamp(execMainExitUsec);
    if (cpuUsageNsec && *cpuUsageNsec != unknownUsage)
    {
        outcome.cpuUsageNsec = cpuUsageNsec;
    }
    return outcome;
}

UnitTracker::UnitTracker(std::string unitName) : unitName_(std::move(unitName)) {}

UnitTracker UnitTracker::warm(std::string unitName, std::string environment,
                              std::vector<Property> startLimits)
{
    UnitTracker tracker(std::move(unitName));
    tracker.warm_ = true;
    tracker.environment_ = std::move(environment);
    tracker.startLimits_ = std::move(startLimits);
    return tracker;
}

UnitTracker UnitTracker::followed(std::string unitName, bool warm)
{
    UnitTracker tracker(std::move(unitName));
    // Its start job is long done, and no run is handed to it by this broker.
    tracker.jobDone_ = true;
    tracker.jobResult_ = "done";
    tracker.warm_ = warm;
    tracker.handedOver_ = true;
    return tracker;
}

UnitTracker UnitTracker::awaitingLookUp(std::string unitName, bool warm)
{
    auto tracker = followed(std::move(unitName), warm);
    tracker.lookUpPending_ = true;
    return tracker;
}

std::optional<pid_t> UnitTracker::mainPid() const
{
    // systemd announces it with the start, before the start job's end.
    if (!service_.mainPid || *service_.mainPid == 0)
    {
        return std::nullopt;
    }
    return static_cast<pid_t>(*service_.mainPid);
}

std::optional<UnitTracker::JobEnd> UnitTracker::jobRemoved(const std::string& result)
{
    if (jobDone_)
    {
        return std::nullopt;
    }
    jobDone_ = true;
    jobResult_ = result;
    JobEnd end;
    end.started = result == "done";
    end.watchRun = end.started && !warm_;
    if (end.started)
    {
        end.waitingRun = std::exchange(waitingRun_, std::nullopt);
    }
    return end;
}

void UnitTracker::learnControlGroup(std::string controlGroup)
{
    controlGroup_ = std::move(controlGroup);
}

void UnitTracker::found()
{
    lookUpPending_ = false;
}

void UnitTracker::serviceChanged(const ServiceProperties& changed)
{
    service_.update(changed);
}

Decision UnitTracker::ended() const
{
    return answered_ ? Decision{Decision::Kind::finish, std::nullopt}
                     : Decision{Decision::Kind::readEnd, std::nullopt};
}

Decision UnitTracker::unitChanged(const UnitChange& change)
{
    if (!jobDone_ || lookUpPending_)
    {
        return {};
    }
    if (change.activeState && isInactive(*change.activeState))
    {
        return ended();
    }
    // An idle warm unit that ends has no run to answer; its files go once it is gone. Both
    // the cgroup and the result come with the unit's start; a unit seen first when it had
    // ended has neither.
    if (change.subState == "stop-post" && !answered_ && (!warm_ || handedOver_) &&
        !controlGroup_.empty() && service_.result)
    {
        return {Decision::Kind::readFigures, std::nullopt};
    }
    return {};
}

Decision UnitTracker::activeStateRead(const std::string& activeState)
{
    return isInactive(activeState) ? ended() : Decision{};
}

Decision UnitTracker::figuresRead(const std::optional<core::CgroupStats>& figures)
{
    // Gone already: the unit's end, with the helper's record, comes next.
    if (answered_ || !figures)
    {
        return {};
    }
    auto outcome = service_.outcome();
    outcome.cgroupStats = figures;
    return {Decision::Kind::answer, settle(std::move(outcome))};
}

Decision UnitTracker::endRead(core::UnitOutcome end)
{
    if (answered_)
    {
        return {Decision::Kind::finish, std::nullopt};
    }
    // A unit that ran has a start time. One without is what systemd loads anew by the name of
    // a unit it has collected (one it could not be asked to hold, as after a reload): its
    // properties are not the run's, but those systemd announced as the run's unit ended are.
    if (end.error.empty() && jobDone_ && jobResult_ == "done" && !end.startMonotonicUsec)
    {
        end = service_.outcome();
        if (!service_.result || !end.startMonotonicUsec)
        {
            end = core::UnitOutcome{};
            end.error = "systemd had forgotten the run's unit by the time it ended.";
        }
    }
    return {Decision::Kind::finish, settle(std::move(end))};
}

Decision UnitTracker::lost(std::string error)
{
    core::UnitOutcome outcome;
    outcome.error = std::move(error);
    return endRead(std::move(outcome));
}

Decision UnitTracker::runReaped(const ReapedRun& reaped)
{
    // Killed, it may have been by systemd at RuntimeMaxSec=, which only the unit's result
    // tells; and with another process of the run left, the run is not over.
    if (answered_ || !reaped.exit || !WIFEXITED(reaped.exit->waitStatus) || !reaped.last ||
        !reaped.figures)
    {
        return {};
    }
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.execMainCode = CLD_EXITED;
    outcome.execMainStatus = WEXITSTATUS(reaped.exit->waitStatus);
    outcome.result = outcome.execMainStatus == 0 ? "success" : "exit-code";
    outcome.startMonotonicUsec = knownTimestamp(service_.execMainStartUsec);
    outcome.exitMonotonicUsec = reaped.reapedUsec;
    outcome.cgroupStats = reaped.figures;
    outcome.toldByKernel = true;
    return {Decision::Kind::answer, settle(std::move(outcome))};
}

UnitTracker::AfterReload UnitTracker::managerReloaded() const
{
    AfterReload after;
    after.lookUp = lookUpPending_;
    after.readActiveState = jobDone_ && !lookUpPending_;
    // systemd 252 cannot read back the ExecStartEx= and ExecStopPostEx= lines it wrote for a
    // transient unit, so after a reload it refuses to change one: a warm unit still waiting
    // could not take its run's limits. It goes; the front prepares another.
    after.stop = warm_ && !handedOver_ && !waitingRun_;
    return after;
}

UnitTracker::Handover UnitTracker::runArrived(const core::SandboxRun& run)
{
    if (!jobDone_)
    {
        waitingRun_ = run;
        return Handover::later;
    }
    return Handover::now;
}

bool UnitTracker::takeRun(const std::vector<Property>& limits)
{
    handedOver_ = true;
    // Most runs keep the default limits, which the unit already has: a round trip to systemd,
    // and its writing of drop-ins, saved.
    return startLimits_ != limits;
}

void UnitTracker::runHandedOver(std::uint64_t usec, std::optional<std::uint64_t> cpuUsageUsec)
{
    handedOverUsec_ = usec;
    cpuAtHandoverUsec_ = cpuUsageUsec;
}

core::UnitOutcome UnitTracker::settle(core::UnitOutcome outcome)
{
    answered_ = true;
    if (handedOverUsec_)
    {
        outcome.startMonotonicUsec = handedOverUsec_;
    }
    if (cpuAtHandoverUsec_)
    {
        // The run's own CPU time, from whichever figure there is. systemd's is the one the
        // front takes first, so it is set from the cgroup's where systemd gave none: the
        // stop-post helper's record, which counts the unit's start too, may be the one kept.
        const auto before = *cpuAtHandoverUsec_;
        auto& stats = outcome.cgroupStats;
        if (stats && stats->cpuUsageUsec)
        {
            stats->cpuUsageUsec = lessAtMost(*stats->cpuUsageUsec, before);
        }
        if (outcome.cpuUsageNsec)
        {
            outcome.cpuUsageNsec = lessAtMost(*outcome.cpuUsageNsec, before * nsecPerUsec);
        }
        else if (stats && stats->cpuUsageUsec)
        {
            outcome.cpuUsageNsec = *stats->cpuUsageUsec * nsecPerUsec;
        }
    }
    if (jobDone_ && jobResult_ != "done")
    {
        outcome.started = false;
        outcome.error = describeStartFailure(jobResult_, outcome);
    }
    else if (timedOut_ && outcome.error.empty())
    {
        // What systemd reports when RuntimeMaxSec= ends a cold run.
        outcome.result = "timeout";
    }
    else if (outOfMemory_ && outcome.error.empty())
    {
        // What systemd reports where it sees the OOM itself (cgroup v2), also when this
        // broker's kill came before the kernel's and so the cgroup counted none.
        outcome.result = "oom-kill";
    }
    return outcome;
}

} // namespace pyrunner::systemd
