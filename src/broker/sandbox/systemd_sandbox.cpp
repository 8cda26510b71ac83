#include "broker/sandbox/systemd_sandbox.hpp"

#include "broker/sandbox/bus_path.hpp"
#include "broker/sandbox/manager_calls.hpp"
#include "broker/sandbox/out_directory.hpp"
#include "broker/sandbox/output_watch.hpp"
#include "broker/sandbox/run_process_watch.hpp"
#include "broker/sandbox/warm_handover.hpp"
#include "broker/units/tenant_slice.hpp"
#include "common/run_id.hpp"
#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <csignal>
#include <stdexcept>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
SystemdSandbox::SystemdSandbox(UnitSettings settings, std::function<void()> onConnectionLost)
    : settings_(std::move(settings)), onConnectionLost_(std::move(onConnectionLost))
{
    ManagerSignals signals;
    signals.follows = [this](const std::string& path) { return trackers_.contains(path); };
    signals.jobRemoved = [this](const std::string& unit, const std::string& result) {
        onJobRemoved(unit, result);
    };
    signals.reloading = [this](bool starting) { onReloading(starting); };
    signals.unitChanged = [this](const std::string& path, const UnitChange& change) {
        onUnitChanged(path, change);
    };
    signals.serviceChanged = [this](const std::string& path, const ServiceProperties& changed) {
        onServiceChanged(path, changed);
    };
    try
    {
        connection_ = sdbus::createSystemBusConnection();
        manager_ = std::make_unique<ManagerCalls>(*connection_);
        manager_->subscribe(std::move(signals));
    }
    catch (const sdbus::Error& e)
    {
        throw std::runtime_error("cannot reach systemd on the system bus: " + e.getMessage());
    }
    bus_ = std::make_unique<BusThread>(*connection_, [this] { abandonAll(); });
    runWatch_ = std::make_unique<RunProcessWatch>(
        cgroups_, *bus_, *deadlines_,
        [this](const std::string& path, const ReapedRun& reaped) { onRunReaped(path, reaped); });
    outputWatch_ = std::make_unique<OutputWatch>(
        *bus_, [this](const std::string& path) { onOutputPassed(path); });
    handoverWriter_ = std::make_unique<HandoverWriter>(
        [this](const std::string& path) { bus_->post([this, path] { onHandoverStalled(path); }); });
    oomWatch_ = OomWatch::forHost(
        [this](const std::string& path) { bus_->post([this, path] { onOutOfMemory(path); }); });
}

SystemdSandbox::~SystemdSandbox()
{
    stop();
}

void SystemdSandbox::start()
{
    bus_->start();
}

void SystemdSandbox::stop()
{
    bus_->stop();
}

void SystemdSandbox::capSliceCpu(unsigned cpus)
{
    bus_->post([this, cpus] {
        try
        {
            manager_->setUnitProperties(settings_.slice, sliceCpuCap(cpus));
        }
        catch (const sdbus::Error& e)
        {
            logMessage(LOG_WARNING, "pyrunner-broker: cannot cap the CPU of " + settings_.slice +
                                        ": " + e.getMessage());
        }
    });
}

std::optional<std::string> SystemdSandbox::capTenantSlice(const core::TenantSlice& slice)
{
    if (slice.tenant.empty())
    {
        return std::nullopt;
    }
    if (const auto it = tenantCaps_.find(slice.tenant);
        it != tenantCaps_.end() && it->second == slice.caps)
    {
        return std::nullopt;
    }
    const auto name = tenantSlice(settings_.slice, slice.tenant);
    try
    {
        // A call that returns once systemd has set them: the unit's start is sent after it.
        manager_->setUnitProperties(name, tenantSliceCaps(slice.caps));
    }
    catch (const sdbus::Error& e)
    {
        // Whatever systemd kept of them, they are set again before the tenant's next unit.
        tenantCaps_.erase(slice.tenant);
        return "systemd did not set them on " + name + ": " + e.getMessage();
    }
    tenantCaps_.insert_or_assign(slice.tenant, slice.caps);
    return std::nullopt;
}

void SystemdSandbox::start(core::SandboxRun run, core::SandboxCallbacks callbacks)
{
    bus_->post([this, run = std::move(run), callbacks = std::move(callbacks)]() mutable {
        startOnBus(run, std::move(callbacks));
    });
}

void SystemdSandbox::kill(const std::string& runId)
{
    bus_->post([this, name = core::unitNameFor(runId)] { manager_->endUnit(name); });
}

void SystemdSandbox::abandonAll()
{
    // Without signals the runs in flight cannot be followed to their end.
    std::vector<std::string> paths;
    for (const auto& [path, followed] : trackers_)
    {
        paths.push_back(path);
    }
    for (const auto& path : paths)
    {
        if (const auto it = trackers_.find(path); it != trackers_.end())
        {
            apply(path,
                  it->second.tracker.lost(
                      "The server lost its connection to systemd while the run was going on."));
        }
    }
    if (onConnectionLost_)
    {
        onConnectionLost_();
    }
}

void SystemdSandbox::startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks)
{
    const auto name = core::unitNameFor(run.id);
    const auto path = unitObjectPath(name);
    if (isPrepared(run.id))
    {
        auto& followed = trackers_.at(path);
        if (followed.tracker.runArrived(run) == UnitTracker::Handover::later)
        {
            followed.callbacks = std::move(callbacks);
            return;
        }
        handOver(path, run, std::move(callbacks));
        return;
    }
    const auto unit = buildRunUnit(run, settings_);
    track(path, UnitTracker(unit.name), std::move(callbacks));
    outputWatch_->watch(path, run.outputDir, run.limits.outputBytes);
    startUnit(path, unit);
}

void SystemdSandbox::runUnit(const TransientUnit& unit, core::SandboxCallbacks callbacks)
{
    const auto path = unitObjectPath(unit.name);
    track(path, UnitTracker(unit.name), std::move(callbacks));
    startUnit(path, unit);
}

SystemdSandbox::Followed& SystemdSandbox::track(const std::string& path, UnitTracker tracker,
                                                core::SandboxCallbacks callbacks,
                                                core::UniqueFd handover)
{
    runWatch_->unwatch(path);
    readyWatches_.erase(path);
    return trackers_
        .insert_or_assign(path, Followed{std::move(tracker),
                                         std::move(callbacks),
                                         std::move(handover),
                                         {},
                                         false,
                                         false,
                                         std::nullopt,
                                         {}})
        .first->second;
}

void SystemdSandbox::startUnit(const std::string& path, const TransientUnit& unit)
{
    try
    {
        manager_->startTransientUnit(unit);
    }
    catch (const sdbus::Error& e)
    {
        apply(path,
              trackers_.at(path).tracker.lost("systemd refused the run's unit: " + e.getMessage()));
    }
}

void SystemdSandbox::watchStarted(const std::string& path)
{
    auto& tracker = trackers_.at(path).tracker;
    try
    {
        // Where systemd placed the unit: nothing the run can write decides it.
        tracker.learnControlGroup(manager_->controlGroup(path));
    }
    catch (const sdbus::Error& e)
    {
        // Gone already; its end says the rest.
        logIgnored("cannot read the ControlGroup of " + tracker.unitName(), e);
        return;
    }
    if (!oomWatch_)
    {
        return;
    }
    try
    {
        oomWatch_->watch(path, tracker.controlGroup());
    }
    catch (const std::exception& e)
    {
        logMessage(LOG_WARNING, "pyrunner-broker: running out of memory may not end " +
                                    tracker.unitName() + ": " + e.what());
    }
}

void SystemdSandbox::onOutOfMemory(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    auto& tracker = it->second.tracker;
    tracker.outOfMemory();
    logMessage(LOG_INFO, "pyrunner-broker: " + tracker.unitName() +
                             " ran out of memory: ending the whole unit");
    killMain(tracker.unitName());
}

void SystemdSandbox::onOutputPassed(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    logMessage(LOG_INFO, "pyrunner-broker: " + it->second.tracker.unitName() +
                             " passed its output cap: ending the whole unit");
    killMain(it->second.tracker.unitName());
}

void SystemdSandbox::killMain(const std::string& unitName)
{
    // Killing the main process ends the unit: systemd then SIGKILLs the rest of its cgroup
    // (KillMode=control-group) before ExecStopPost. "all" would also kill the ExecStopPost
    // helper, and lose the cgroup's figures, when the unit has already come that far.
    try
    {
        manager_->killUnit(unitName, "main", SIGKILL);
    }
    catch (const sdbus::Error& e)
    {
        // No main process left: systemd is already ending the unit.
        logIgnored("cannot kill the main process of " + unitName, e);
    }
}

void SystemdSandbox::onReloading(bool starting)
{
    if (starting)
    {
        return;
    }
    std::vector<std::string> lookUp;
    std::vector<std::string> look;
    for (const auto& [path, followed] : trackers_)
    {
        const auto after = followed.tracker.managerReloaded();
        if (after.lookUp)
        {
            lookUp.push_back(path);
        }
        if (after.readActiveState)
        {
            look.push_back(path);
        }
        if (after.stop)
        {
            manager_->endUnit(followed.tracker.unitName());
        }
    }
    for (const auto& path : lookUp)
    {
        if (trackers_.contains(path))
        {
            lookUpAgain(path);
        }
    }
    for (const auto& path : look)
    {
        readActiveState(path);
    }
}

void SystemdSandbox::onJobRemoved(const std::string& unit, const std::string& result)
{
    const auto path = unitObjectPath(unit);
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    auto& followed = it->second;
    const auto end = followed.tracker.jobRemoved(result);
    if (!end)
    {
        return;
    }
    if (end->started)
    {
        watchStarted(path);
        if (end->watchRun)
        {
            watchRun(path);
        }
        if (followed.ready && !end->waitingRun)
        {
            // A warm unit takes runs once its bootstrap has imported what it imports and
            // waits, not while it still does: a run would wait for that and be counted its CPU.
            readyWatches_.insert_or_assign(
                path, bus_->watchHangup(followed.ready.get(), [this, path] { onWarmReady(path); }));
        }
        // For a warm unit with its run already waiting, or a cold one, this says it started.
        else if (followed.callbacks.onStarted)
        {
            followed.callbacks.onStarted();
        }
        if (end->waitingRun)
        {
            handOver(path, *end->waitingRun, followed.callbacks);
        }
    }
    // The unit may have ended before this signal came.
    readActiveState(path);
}

void SystemdSandbox::onUnitChanged(const std::string& path, const UnitChange& change)
{
    if (const auto it = trackers_.find(path); it != trackers_.end())
    {
        apply(path, it->second.tracker.unitChanged(change));
    }
}

void SystemdSandbox::onServiceChanged(const std::string& path, const ServiceProperties& changed)
{
    if (const auto it = trackers_.find(path); it != trackers_.end())
    {
        it->second.tracker.serviceChanged(changed);
    }
}

void SystemdSandbox::readActiveState(const std::string& path)
{
    if (!trackers_.contains(path))
    {
        return;
    }
    std::string activeState;
    try
    {
        activeState = manager_->activeState(path);
    }
    catch (const sdbus::Error& e)
    {
        // systemd re-executing (a daemon-reexec right after a reload) drops its calls: the
        // unit is still followed, and its end comes as a signal from the new instance.
        if (!isManagerAway(e))
        {
            apply(path, trackers_.at(path).tracker.lost(
                            "The server lost track of the run's unit: " + e.getMessage()));
        }
        return;
    }
    apply(path, trackers_.at(path).tracker.activeStateRead(activeState));
}

void SystemdSandbox::watchRun(const std::string& path)
{
    const auto& tracker = trackers_.at(path).tracker;
    const auto mainPid = tracker.mainPid();
    if (mainPid && !tracker.controlGroup().empty())
    {
        runWatch_->watch(path, tracker.controlGroup(), *mainPid);
    }
}

void SystemdSandbox::onRunReaped(const std::string& path, const ReapedRun& reaped)
{
    if (const auto it = trackers_.find(path); it != trackers_.end())
    {
        apply(path, it->second.tracker.runReaped(reaped));
    }
}

void SystemdSandbox::apply(const std::string& path, Decision decision)
{
    switch (decision.kind)
    {
    case Decision::Kind::wait:
        return;
    case Decision::Kind::readFigures:
    {
        auto& tracker = trackers_.at(path).tracker;
        apply(path, tracker.figuresRead(readCgroup(tracker)));
        return;
    }
    case Decision::Kind::readEnd:
    {
        auto end = readOutcome(path);
        apply(path, trackers_.at(path).tracker.endRead(std::move(end)));
        return;
    }
    case Decision::Kind::answer:
        answer(path, std::move(*decision.outcome));
        return;
    case Decision::Kind::finish:
        finish(path, std::move(decision.outcome));
        return;
    }
}

std::optional<core::CgroupStats> SystemdSandbox::readCgroup(const UnitTracker& tracker) const
{
    try
    {
        return cgroups_.read(tracker.controlGroup());
    }
    catch (const std::runtime_error& e)
    {
        logMessage(LOG_WARNING, "pyrunner-broker: cannot read the cgroup of " + tracker.unitName() +
                                    ": " + e.what());
        return std::nullopt;
    }
}

core::UnitOutcome SystemdSandbox::readOutcome(const std::string& path)
{
    try
    {
        return serviceProperties(manager_->allServiceProperties(path)).outcome();
    }
    catch (const sdbus::Error& e)
    {
        core::UnitOutcome outcome;
        outcome.error = "The server could not read how the run's unit ended: " + e.getMessage();
        return outcome;
    }
}

void SystemdSandbox::finish(const std::string& path, std::optional<core::UnitOutcome> outcome)
{
    if (outcome)
    {
        answer(path, std::move(*outcome));
    }
    auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    if (auto held = std::exchange(it->second.heldForFiles, std::nullopt))
    {
        // The unit is gone, so its collector has run: the run's files are there with it.
        it->second.filesLooked = true;
        answer(path, std::move(*held));
        it = trackers_.find(path);
        if (it == trackers_.end())
        {
            return;
        }
    }
    auto onUnitGone = std::move(it->second.callbacks.onUnitGone);
    readyWatches_.erase(path);
    trackers_.erase(it);
    if (onUnitGone)
    {
        onUnitGone();
    }
}

void SystemdSandbox::answer(const std::string& path, core::UnitOutcome outcome)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    auto& followed = it->second;
    // Told before the unit stopped (by the kernel, or as it began to stop), the run's end waits
    // for its files when it left any: the collector runs as systemd stops the unit, and a run
    // is never reported finished without what it left in out/.
    if (outcome.started && !std::exchange(followed.filesLooked, true))
    {
        // Units that are no run's (an environment's build, the layer probe) collect nothing.
        const auto id = core::runIdOfUnit(followed.tracker.unitName());
        if (id && outDirectoryHasEntries(runWorkingDirectory(*id, settings_)))
        {
            followed.heldForFiles = std::move(outcome);
            try
            {
                manager_->setUnitProperties(followed.tracker.unitName(), collectionCpuQuota());
            }
            catch (const sdbus::Error& e)
            {
                // The collector still runs, under the run's quota and its own time bound.
                logIgnored("cannot give the collector of " + followed.tracker.unitName() + " a CPU",
                           e);
            }
            return;
        }
    }
    runWatch_->unwatch(path);
    outputWatch_->unwatch(path);
    deadlines_->cancel(path);
    if (std::exchange(followed.writingRest, false))
    {
        handoverWriter_->cancel(path);
    }
    if (oomWatch_)
    {
        oomWatch_->unwatch(path);
    }
    // Its answer does not matter: a unit never referenced (refused) or already collected
    // holds nothing. Not waiting for it keeps systemd's turn off the run's answer.
    try
    {
        manager_->unrefUnit(followed.tracker.unitName());
    }
    catch (const sdbus::Error& e)
    {
        // The connection is gone: so is every reference it held.
        logIgnored("cannot release " + followed.tracker.unitName(), e);
    }
    // Last, and from a copy: what it does may change the trackers.
    const auto onExited = std::move(followed.callbacks.onExited);
    onExited(std::move(outcome));
}

} // namespace pyrunner::systemd
