#pragma once

#include "broker/sandbox/deadlines.hpp"
#include "broker/sandbox/oom_watch.hpp"
#include "broker/sandbox/unit_tracker.hpp"
#include "broker/units/unit_properties.hpp"
#include "cgroup/cgroup_tree.hpp"
#include "common/fd.hpp"
#include "common/sandbox.hpp"
#include "daemon/bus_thread.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sdbus
{
class IConnection;
} // namespace sdbus

namespace pyrunner::systemd
{

class HandoverWriter;
class ManagerCalls;
class OutputWatch;
class RunProcessWatch;

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
    // On the bus thread, before a unit of the slice's tenant is started: sets the tenant's caps
    // on its slice (tenantSliceCaps), unless they are what this broker last set there. It
    // returns once systemd has set them, so a unit whose start is sent afterwards never runs
    // without them. The empty tenant's slice is the runs' own, left as it is. The sentence of
    // why not when systemd refused.
    std::optional<std::string> capTenantSlice(const core::TenantSlice& slice);
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
    // On the bus thread: whether this id's warm unit ended before it was given a run, and is
    // not yet gone. Its end has been reported, so no run handed to it would ever be answered.
    bool preparedAndEnded(const std::string& runId) const;
    // On the bus thread: the environment and the tenant the warm unit of this run was
    // prepared for.
    std::string preparedEnvironment(const std::string& runId) const;
    std::string preparedTenant(const std::string& runId) const;
    // On the bus thread: hands the run to its warm unit before returning, so that a broker
    // that has answered a start has also written the run where its unit reads it: as much of
    // it as the FIFO takes at once, which is all where its buffer can be made to hold it. Any
    // rest follows as the bootstrap reads, without the bus thread waiting for it.
    void startPrepared(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    // On the bus thread: follows the unit of a run this process did not start (it began
    // before a restart), as start() would have; false when systemd has no such unit loaded.
    // A warm unit's `handover` FIFO is held until the unit has ended, as for one started
    // here: every process systemd starts for it opens the FIFO as its stdin. Where systemd is
    // re-executing, the unit is looked up once it is back, and followed (true) meanwhile.
    // `outputDir` and `outputBytes` (when the run's record of it was found) hold its stdout
    // and stderr to the cap again, as start() did.
    // Throws sdbus::Error where systemd can tell nothing of the unit: it may be running.
    bool follow(const std::string& runId, core::SandboxCallbacks callbacks, core::UniqueFd handover,
                const std::string& outputDir, std::optional<std::uint64_t> outputBytes);
    // On the bus thread: the ids of the run units systemd has loaded.
    std::vector<std::string> loadedRuns();
    bool reachable() const { return bus_->alive(); }

  private:
    // A unit followed: what it is to do is its tracker's; what the sandbox holds for it is here.
    struct Followed
    {
        UnitTracker tracker;
        core::SandboxCallbacks callbacks;
        // A warm unit's: its bootstrap waits for the run on the other end of this FIFO. Held
        // until the unit is gone: the stop-post helper's stdin is opened from it.
        core::UniqueFd handover;
        // A warm unit's: its read end hangs up once the bootstrap waits for its run
        // (makeReadyFifo); watched in readyWatches_.
        core::UniqueFd ready;
        // The handover writer may still be writing the rest of its run.
        bool writingRest = false;
        // Whether the run's out/ was looked at as its end came, and the end held until the
        // unit is gone because the run left files there for the collector.
        bool filesLooked = false;
        std::optional<core::UnitOutcome> heldForFiles;
        // A warm unit's: the tenant in whose slice it was started.
        std::string tenant;
    };

    void startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    // Follows the unit at `path` from now on, in place of any earlier one there.
    Followed& track(const std::string& path, UnitTracker tracker, core::SandboxCallbacks callbacks,
                    core::UniqueFd handover = {});
    void startUnit(const std::string& path, const TransientUnit& unit);
    void prepareOnBus(const core::SandboxRun& prepared, const core::Limits& ceiling,
                      core::SandboxCallbacks callbacks);
    void handOver(const std::string& path, const core::SandboxRun& run,
                  core::SandboxCallbacks callbacks);
    void onHandoverStalled(const std::string& path);
    // The warm unit's bootstrap waits for its run: it is offered to runs from now on.
    void onWarmReady(const std::string& path);
    void onWallTimeout(const std::string& path);
    // A unit that an earlier broker started, found loaded.
    void followLoaded(const std::string& path);
    // A run followed after a restart: its stdout and stderr held to `outputBytes` again.
    void watchOutputAgain(const std::string& path, const std::string& outputDir,
                          std::optional<std::uint64_t> outputBytes);
    // A unit that follow() could not look up: systemd is back.
    void lookUpAgain(const std::string& path);
    // The unit has started: keeps its ControlGroup in its tracker (left empty when it is gone)
    // and, where there is an OOM watch, has it report an OOM in the unit's memory cgroup.
    void watchStarted(const std::string& path);
    // Ends the unit the OOM watch reported, as OOMPolicy=kill does where systemd sees the OOM.
    void onOutOfMemory(const std::string& path);
    // A run's stdout or stderr passed its cap: the run ends, as it would at EFBIG had the cap
    // been the kernel's.
    void onOutputPassed(const std::string& path);
    // Kills the unit's main process, which ends the whole unit (KillMode=control-group).
    void killMain(const std::string& unitName);
    void onJobRemoved(const std::string& unit, const std::string& result);
    // After a reload or re-execution of the manager: looks again at every unit followed,
    // since a unit may have ended while the manager was away.
    void onReloading(bool starting);
    void onUnitChanged(const std::string& path, const UnitChange& change);
    void onServiceChanged(const std::string& path, const ServiceProperties& changed);
    // The unit may have ended unseen: asks systemd.
    void readActiveState(const std::string& path);
    // When the run starts: has the run process watch tell how its interpreter ends.
    void watchRun(const std::string& path);
    void onRunReaped(const std::string& path, const ReapedRun& reaped);
    // Carries out what the unit's tracker decided.
    void apply(const std::string& path, Decision decision);
    // The unit's cgroup figures now; nullopt (logged, unless merely gone) when unreadable.
    std::optional<core::CgroupStats> readCgroup(const UnitTracker& tracker) const;
    core::UnitOutcome readOutcome(const std::string& path);
    // Runs the unit's onExited, once; it stays followed until finish().
    void answer(const std::string& path, core::UnitOutcome outcome);
    // Answers with `outcome` where there is one, and forgets the unit.
    void finish(const std::string& path, std::optional<core::UnitOutcome> outcome);
    // After the connection is lost: ends every run in flight with an error.
    void abandonAll();

    const UnitSettings settings_;
    const std::function<void()> onConnectionLost_;
    const CgroupTree cgroups_ = CgroupTree::forHost();
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<ManagerCalls> manager_;
    // Keyed by the unit's object path; touched only on the bus thread.
    std::map<std::string, Followed> trackers_;
    // The caps this broker last set on each tenant's slice, by tenant; on the bus thread. They
    // are runtime properties, which systemd keeps until the host reboots, also while the slice
    // is not loaded: a tenant's steady state costs no call.
    std::map<std::string, core::TenantCaps> tenantCaps_;
    std::unique_ptr<BusThread> bus_;
    // The ready FIFOs of warm units started and not yet ready, by path. Its watches end at
    // bus_, so it is declared after it and ends first.
    std::map<std::string, BusThread::Watch> readyWatches_;
    // Warm runs' wall limits, counted from handover. Its thread posts to bus_.
    std::unique_ptr<Deadlines> deadlines_ = std::make_unique<Deadlines>();
    // Its watches end at bus_, so it is declared after it and ends first.
    std::unique_ptr<RunProcessWatch> runWatch_;
    std::unique_ptr<OutputWatch> outputWatch_;
    // Its thread posts to bus_, so it is declared after it and ends first.
    std::unique_ptr<HandoverWriter> handoverWriter_;
    // Only where the memory controller is cgroup v1: systemd does not see OOM kills there.
    // Its thread posts to bus_, so it is declared after it and ends first.
    std::unique_ptr<OomWatch> oomWatch_;
};

} // namespace pyrunner::systemd
