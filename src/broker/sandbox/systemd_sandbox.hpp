#pragma once

#include "broker/sandbox/deadlines.hpp"
#include "broker/sandbox/oom_watch.hpp"
#include "broker/units/unit_properties.hpp"
#include "cgroup/cgroup_tree.hpp"
#include "common/fd.hpp"
#include "common/sandbox.hpp"
#include "daemon/bus_thread.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sdbus
{
class IConnection;
class IProxy;
class Message;
class Variant;
} // namespace sdbus

namespace pyrunner::systemd
{

// Runs each submission as a transient service of the system manager and follows it to its
// end by the manager's signals. Everything happens on one BusThread; the broker's own
// D-Bus object shares the connection, so it is handled on the same thread.
class SystemdSandbox
{
  public:
    // Connects to the system bus and subscribes to the manager's signals; throws
    // std::runtime_error with a sentence if systemd cannot be reached. Call start() once
    // whatever else uses connection() is registered.
    // `onConnectionLost` runs once, on the bus thread, after the runs in flight were ended.
    SystemdSandbox(UnitSettings settings, std::function<void()> onConnectionLost);
    ~SystemdSandbox();
    SystemdSandbox(const SystemdSandbox&) = delete;
    SystemdSandbox& operator=(const SystemdSandbox&) = delete;
    SystemdSandbox(SystemdSandbox&&) = delete;
    SystemdSandbox& operator=(SystemdSandbox&&) = delete;

    sdbus::IConnection& connection() { return *connection_; }
    void start();
    // Stops the bus thread; no callback runs after it returns.
    void stop();
    // Caps all runs' CPU together (sliceCpuCap); a refusal is logged, not fatal: the slice's
    // memory and task caps and its CPU weight still hold.
    void capSliceCpu(unsigned cpus);
    // Returns when the bus thread has ended: the connection is lost, or stop() was called.
    void wait() { bus_->wait(); }
    // Runs `task` on the bus thread, behind whatever it is busy with.
    void post(std::function<void()> task) { bus_->post(std::move(task)); }

    // Callbacks run on the bus thread. `run.outputDir` must exist.
    void start(core::SandboxRun run, core::SandboxCallbacks callbacks);
    // On the bus thread: starts a unit other than a run's (an environment's build) and
    // follows it to its end as a run's.
    void runUnit(const TransientUnit& unit, core::SandboxCallbacks callbacks);
    const UnitSettings& unitSettings() const { return settings_; }
    // Ends the run's whole unit at once; harmless when it has already ended.
    void kill(const std::string& runId);
    // On the bus thread, so that a start() posted afterwards finds it: starts a warm unit for
    // the run `prepared.id`, which start() with that id later hands its run to. Its process
    // limits are `ceiling`, lowered to the run's at handover.
    void prepare(const core::SandboxRun& prepared, const core::Limits& ceiling,
                 core::SandboxCallbacks callbacks);
    // On the bus thread: whether start() with this id would hand its run to a warm unit.
    bool isPrepared(const std::string& runId) const;
    // On the bus thread: the environment the warm unit of this run was prepared for.
    std::string preparedEnvironment(const std::string& runId) const;
    // On the bus thread: hands the run to its warm unit before returning, so that a broker
    // that has answered a start has also written the run where its unit reads it.
    void startPrepared(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    // On the bus thread: follows the unit of a run this process did not start (it began
    // before a restart), as start() would have; false when systemd has no such unit loaded.
    // A warm unit's `handover` FIFO is held until the unit has ended, as for one started
    // here: every process systemd starts for it opens the FIFO as its stdin.
    bool follow(const std::string& runId, core::SandboxCallbacks callbacks,
                core::UniqueFd handover);
    // On the bus thread: the ids of the run units systemd has loaded.
    std::vector<std::string> loadedRuns();
    bool reachable() const { return bus_->alive(); }

  private:
    struct Tracker
    {
        std::string unitName;
        core::SandboxCallbacks callbacks;
        bool jobDone = false;
        std::string jobResult;
        // The OOM watch saw the unit's memory cgroup run out of memory.
        bool outOfMemory = false;
        // The unit's cgroup as systemd placed it, once its start job is done.
        std::string controlGroup;
        // Its Service properties as systemd last announced them: systemd sends them just
        // before the Unit properties of the same change, so they are current when the unit
        // is seen stopping.
        std::map<std::string, sdbus::Variant> service;
        // A warm unit: its bootstrap waits for the run on the other end of this FIFO.
        bool warm = false;
        // The environment a warm unit runs: only a run of it may be handed over.
        std::string environment;
        core::UniqueFd handover;
        // The cgroup limits a warm unit was started with, where this broker started it.
        std::optional<std::vector<Property>> waitingLimits;
        bool handedOver = false;
        // CLOCK_MONOTONIC microseconds of a warm unit's handover: its run's start.
        std::optional<std::uint64_t> handedOverUsec;
        // The broker ended a warm run at its wall limit.
        bool timedOut = false;
        // A run for a warm unit whose process has not started yet (the front takes only
        // units said to be ready, but a restarted front may not know): the FIFO keeps nothing
        // until a reader has it open, so the handover waits for the start job.
        std::optional<core::SandboxRun> waitingRun;
        // The unit's main process, the reaper, and the interpreter it forked for the run
        // (watchRunProcess).
        pid_t mainPid = 0;
        core::UniqueFd runProcess;
        BusThread::Watch runReaped;
        // onExited has run; the tracker stays until the unit is gone, holding the FIFO that
        // the stop-post helper's stdin is opened from.
        bool answered = false;
    };

    void startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    // A fresh tracker for the unit at `path`, replacing any earlier one.
    Tracker& track(const std::string& path, std::string unitName, core::SandboxCallbacks callbacks);
    void startUnit(const std::string& path, const TransientUnit& unit);
    void prepareOnBus(const core::SandboxRun& prepared, const core::Limits& ceiling,
                      core::SandboxCallbacks callbacks);
    void handOver(const std::string& path, const core::SandboxRun& run,
                  core::SandboxCallbacks callbacks);
    void onWallTimeout(const std::string& path);
    void killOnBus(const std::string& unitName);
    // Where there is an OOM watch, has it report an OOM in the started unit's memory cgroup.
    // Keeps the started unit's ControlGroup in its tracker; left empty when it is gone.
    void learnControlGroup(const std::string& path, Tracker& tracker);
    void watchMemory(const std::string& path, const Tracker& tracker);
    // Ends the unit the OOM watch reported, as OOMPolicy=kill does where systemd sees the OOM.
    void onOutOfMemory(const std::string& path);
    sdbus::Variant unitProperty(const std::string& path, const char* interface, const char* name);
    void onJobRemoved(sdbus::Message& message);
    // After a reload or re-execution of the manager: looks again at every unit followed,
    // since a unit may have ended while the manager was away.
    void onReloading(sdbus::Message& message);
    void onPropertiesChanged(sdbus::Message& message);
    void onServiceChanged(sdbus::Message& message);
    void finishIfInactive(const std::string& path);
    // When the run starts (a cold unit's start job is done, a warm unit's run is handed over):
    // watches, through a pidfd, the interpreter the unit's reaper forked, which the reaper
    // reaps as soon as it ends.
    // `attempt`: how many looks for it came before.
    void watchRunProcess(const std::string& path, Tracker& tracker, unsigned attempt = 0);
    // The interpreter has been reaped. systemd learns of the run's end only when the reaper
    // has ended too, and then moves the stop-post helper into the unit's cgroup, a write that
    // holds it for an RCU grace period (about 12 ms here) before it announces the stop. Where
    // the kernel tells how the interpreter ended (Linux 6.15), it exited by itself, and no
    // other process of the run is left, the run is answered now, from the kernel and the
    // cgroup, which the reaper and then the helper keep. Else the unit's stop says it.
    void onRunReaped(const std::string& path);
    // The unit is in stop-post: its processes are gone and how it ended is settled, while its
    // cgroup stays for the stop-post helper. Reading the cgroup now, not waiting for the
    // helper's record and the unit's teardown, answers a run that much sooner. Leaves the
    // unit to its end when the cgroup is gone already.
    void finishStopping(const std::string& path);
    // The unit's cgroup figures now; nullopt (logged, unless merely gone) when unreadable.
    std::optional<core::CgroupStats> readCgroup(const Tracker& tracker) const;
    // Runs the unit's onExited, once; its tracker stays until finish().
    void answer(const std::string& path, core::UnitOutcome outcome);
    // The unit is gone, or can no longer be followed: answers it if that has not been done,
    // and forgets it.
    void finish(const std::string& path, core::UnitOutcome outcome);
    core::UnitOutcome readOutcome(const std::string& path);
    // After the connection is lost: ends every run in flight with an error.
    void abandonAll();

    const UnitSettings settings_;
    const std::function<void()> onConnectionLost_;
    const CgroupTree cgroups_ = CgroupTree::forHost();
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::vector<std::unique_ptr<void, std::function<void(void*)>>> matches_;
    // Keyed by the unit's object path; touched only on the bus thread.
    std::map<std::string, Tracker> trackers_;
    std::unique_ptr<BusThread> bus_;
    // Warm runs' wall limits, counted from handover. Its thread posts to bus_.
    std::unique_ptr<Deadlines> deadlines_ = std::make_unique<Deadlines>();
    // Only where the memory controller is cgroup v1: systemd does not see OOM kills there.
    // Its thread posts to bus_, so it is declared after it and ends first.
    std::unique_ptr<OomWatch> oomWatch_;
};

} // namespace pyrunner::systemd
