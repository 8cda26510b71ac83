#pragma once

#include "broker/sandbox/pidfd.hpp"
#include "broker/units/unit_properties.hpp"
#include "common/cgroup_stats.hpp"
#include "common/sandbox.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pyrunner::systemd
{

// The Service properties a unit's end is read from, as systemd announced them.
struct ServiceProperties
{
    std::optional<std::string> result;
    std::optional<std::int32_t> execMainCode;
    std::optional<std::int32_t> execMainStatus;
    // CLOCK_MONOTONIC microseconds; systemd gives 0 for "not yet".
    std::optional<std::uint64_t> execMainStartUsec;
    std::optional<std::uint64_t> execMainExitUsec;
    std::optional<std::uint32_t> mainPid;
    // systemd gives 2^64-1 where the unit keeps no CPU account.
    std::optional<std::uint64_t> cpuUsageNsec;

    // Takes every property that `changed` has.
    void update(const ServiceProperties& changed);
    // How the unit ended, as these say.
    core::UnitOutcome outcome() const;
};

// The Unit properties of one PropertiesChanged signal that the tracker follows.
struct UnitChange
{
    std::optional<std::string> activeState;
    std::optional<std::string> subState;
};

// What the kernel told as the run's interpreter was reaped (RunProcessWatch).
struct ReapedRun
{
    // nullopt where the kernel keeps no exit status for it.
    std::optional<ProcessExit> exit;
    // It ended in the unit's cgroup, and no other process of the run is left there.
    bool last = false;
    // The unit's cgroup figures right after, where it was the last.
    std::optional<core::CgroupStats> figures;
    // CLOCK_MONOTONIC microseconds of the reaping.
    std::uint64_t reapedUsec = 0;
};

// What the sandbox is to do after an event.
struct Decision
{
    enum class Kind
    {
        // Nothing until the next event.
        wait,
        // Read the unit's cgroup figures now and give them to figuresRead().
        readFigures,
        // Read how systemd saw the unit end and give it to endRead().
        readEnd,
        // Answer the run with `outcome`; the unit is followed on to its end.
        answer,
        // The unit is gone, or can no longer be followed: answer with `outcome` where there
        // is one (the run was not answered yet), then forget the unit.
        finish,
    };

    Kind kind = Kind::wait;
    std::optional<core::UnitOutcome> outcome;
};

// One unit followed from its start (or from a restarted broker's look-up) to its end: what
// systemd and the kernel told of it, and the rules that say when and with what its run is
// answered. No bus and no files: the sandbox feeds it events and carries out its decisions.
class UnitTracker
{
  public:
    // What follows a start job's end.
    struct JobEnd
    {
        // The unit's main process runs: its cgroup can be learnt, its run called started.
        bool started = false;
        // Look for the run's interpreter now (a cold run); a warm unit's run has yet to come.
        bool watchRun = false;
        // The run that came for a warm unit before its start job ended, to hand over now.
        std::optional<core::SandboxRun> waitingRun;
    };

    // What to do for the unit when the manager is back from a reload or re-execution.
    struct AfterReload
    {
        // Its state may have changed unseen: read its ActiveState.
        bool readActiveState = false;
        // It could not be looked up before: look it up now.
        bool lookUp = false;
        // An idle warm unit, which a reloaded systemd 252 cannot give a run's limits: stop it.
        bool stop = false;
    };

    enum class Handover
    {
        now,
        // Its start job is under way: the run waits for it (JobEnd::waitingRun).
        later,
    };

    // A unit this process starts for a run, or for an environment's build.
    explicit UnitTracker(std::string unitName);
    // A warm unit this process starts for a later run of `environment`, with the cgroup
    // limits `startLimits`.
    static UnitTracker warm(std::string unitName, std::string environment,
                            std::vector<Property> startLimits);
    // A unit an earlier broker started, found loaded; `warm`: a warm unit, whose run was
    // handed over by that broker.
    static UnitTracker followed(std::string unitName, bool warm);
    // The same, where the manager could not be asked (it was re-executing): the unit is looked
    // up when it is back, and nothing else is heard of it until then.
    static UnitTracker awaitingLookUp(std::string unitName, bool warm);

    const std::string& unitName() const { return unitName_; }
    // A warm unit that no run was handed to.
    bool prepared() const { return warm_ && !handedOver_; }
    // The environment of a warm unit started here; empty otherwise.
    const std::string& environment() const { return environment_; }
    bool answered() const { return answered_; }
    // Empty until the unit has started.
    const std::string& controlGroup() const { return controlGroup_; }
    // The unit's main process, the reaper, as systemd announced it.
    std::optional<pid_t> mainPid() const;

    // The unit's start job ended with `result`; nullopt when that was heard already.
    std::optional<JobEnd> jobRemoved(const std::string& result);
    // Where systemd placed the started unit.
    void learnControlGroup(std::string controlGroup);
    // A look-up that awaitingLookUp() deferred found the unit loaded.
    void found();
    void serviceChanged(const ServiceProperties& changed);
    Decision unitChanged(const UnitChange& change);
    Decision activeStateRead(const std::string& activeState);
    // The cgroup figures readFigures asked for; nullopt when the cgroup is gone already.
    Decision figuresRead(const std::optional<core::CgroupStats>& figures);
    // How systemd saw the unit end, as readEnd asked. Where systemd had collected the unit
    // already, what it announced as the unit ended, or else an error, which leaves the run to
    // the stop-post helper's record.
    Decision endRead(core::UnitOutcome end);
    Decision runReaped(const ReapedRun& reaped);
    // The unit can no longer be followed, or was never started: why, for the operator.
    Decision lost(std::string error);
    // The broker ends the unit because it ran out of memory where systemd cannot see it
    // (cgroup v1), or because its warm run reached its wall limit.
    void outOfMemory() { outOfMemory_ = true; }
    void timedOut() { timedOut_ = true; }
    AfterReload managerReloaded() const;

    // A run for this warm unit.
    Handover runArrived(const core::SandboxRun& run);
    // The handover begins; true when the unit's cgroup limits must first be made `limits`.
    bool takeRun(const std::vector<Property>& limits);
    // The run was handed over at `usec` (CLOCK_MONOTONIC), when the unit's cgroup had used
    // `cpuUsageUsec` of CPU time starting up, which is not the run's.
    void runHandedOver(std::uint64_t usec, std::optional<std::uint64_t> cpuUsageUsec);

  private:
    // Answers from here on: what the run is told, with the rules applied that only the
    // tracker knows of (a failed start job, the broker's own kills, a warm run's start).
    core::UnitOutcome settle(core::UnitOutcome outcome);
    Decision ended() const;

    std::string unitName_;
    bool jobDone_ = false;
    std::string jobResult_;
    bool lookUpPending_ = false;
    std::string controlGroup_;
    // Current when the unit is seen stopping: systemd sends them just before the Unit
    // properties of the same change.
    ServiceProperties service_;
    bool outOfMemory_ = false;
    bool timedOut_ = false;
    bool answered_ = false;

    bool warm_ = false;
    // The environment a warm unit runs: only a run of it may be handed over.
    std::string environment_;
    // The cgroup limits a warm unit was started with, where this broker started it.
    std::optional<std::vector<Property>> startLimits_;
    bool handedOver_ = false;
    // A run for a warm unit whose process has not started yet (the front takes only units said
    // to be ready, but a restarted front may not know): the FIFO keeps nothing until a reader
    // has it open, so the handover waits for the start job.
    std::optional<core::SandboxRun> waitingRun_;
    // CLOCK_MONOTONIC microseconds of a warm run's handover: its start.
    std::optional<std::uint64_t> handedOverUsec_;
    // The CPU time the unit's cgroup had used by then, starting up.
    std::optional<std::uint64_t> cpuAtHandoverUsec_;
};

} // namespace pyrunner::systemd
