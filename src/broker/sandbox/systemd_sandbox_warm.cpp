#include "broker/sandbox/bus_path.hpp"
#include "broker/sandbox/manager_calls.hpp"
#include "broker/sandbox/output_watch.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "broker/sandbox/warm_handover.hpp"
#include "broker/units/warm_bootstrap.hpp"
#include "common/run_files.hpp"
#include "common/run_id.hpp"
#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <fcntl.h>
#include <syslog.h>
#include <utility>

// SystemdSandbox's warm units: started ahead of their run, which is handed over through a FIFO.

namespace pyrunner::systemd
{

void SystemdSandbox::prepare(const core::SandboxRun& prepared, const core::Limits& ceiling,
                             core::SandboxCallbacks callbacks)
{
    prepareOnBus(prepared, ceiling, std::move(callbacks));
}

void SystemdSandbox::startPrepared(const core::SandboxRun& run, core::SandboxCallbacks callbacks)
{
    startOnBus(run, std::move(callbacks));
}

bool SystemdSandbox::isPrepared(const std::string& runId) const
{
    const auto it = trackers_.find(unitObjectPath(core::unitNameFor(runId)));
    return it != trackers_.end() && it->second.tracker.prepared() && !it->second.tracker.answered();
}

bool SystemdSandbox::preparedAndEnded(const std::string& runId) const
{
    const auto it = trackers_.find(unitObjectPath(core::unitNameFor(runId)));
    return it != trackers_.end() && it->second.tracker.prepared() && it->second.tracker.answered();
}

std::string SystemdSandbox::preparedEnvironment(const std::string& runId) const
{
    const auto it = trackers_.find(unitObjectPath(core::unitNameFor(runId)));
    return it != trackers_.end() ? it->second.tracker.environment() : std::string();
}

std::string SystemdSandbox::preparedTenant(const std::string& runId) const
{
    const auto it = trackers_.find(unitObjectPath(core::unitNameFor(runId)));
    return it != trackers_.end() ? it->second.tenant : std::string();
}

void SystemdSandbox::prepareOnBus(const core::SandboxRun& prepared, const core::Limits& ceiling,
                                  core::SandboxCallbacks callbacks)
{
    const auto fifo = prepared.outputDir + "/" + core::RunFiles::handoverName;
    auto handover = makeHandoverFifo(fifo);
    auto ready = handover ? makeReadyFifo(prepared.outputDir + "/" + core::RunFiles::readyName)
                          : core::UniqueFd();
    if (!ready)
    {
        core::UnitOutcome failed;
        failed.error = std::string("The broker could not make a warm unit's ") +
                       (handover ? "ready" : "handover") + " FIFO.";
        callbacks.onExited(failed);
        return;
    }
    const auto unit = buildWarmUnit(prepared, ceiling, settings_, fifo);
    const auto path = unitObjectPath(unit.name);
    auto& followed = track(
        path, UnitTracker::warm(unit.name, prepared.environment, runCgroupLimits(prepared.limits)),
        std::move(callbacks), std::move(handover));
    followed.ready = std::move(ready);
    followed.tenant = prepared.slice.tenant;
    startUnit(path, unit);
}

void SystemdSandbox::handOver(const std::string& path, const core::SandboxRun& run,
                              core::SandboxCallbacks callbacks)
{
    auto& followed = trackers_.at(path);
    auto& tracker = followed.tracker;
    followed.callbacks = std::move(callbacks);
    readyWatches_.erase(path);
    const auto limits = runCgroupLimits(run.limits);
    if (tracker.takeRun(limits))
    {
        try
        {
            manager_->setUnitProperties(tracker.unitName(), limits);
        }
        catch (const sdbus::Error& e)
        {
            // Never run code under limits other than its own.
            logMessage(LOG_WARNING, "pyrunner-broker: cannot set the limits of " +
                                        tracker.unitName() + ": " + e.getMessage());
            manager_->endUnit(tracker.unitName());
            return;
        }
    }
    // Read while the bootstrap still waits: what the unit used starting up is not the run's.
    const auto startUp = readCgroup(tracker);
    const auto message = handoverMessage(run.code, run.stdinData, run.args, run.limits);
    const auto fifo = followed.handover.get();
    const auto written = writeHandover(fifo, message);
    core::UniqueFd forRest(written && *written < message.size() ? ::fcntl(fifo, F_DUPFD_CLOEXEC, 0)
                                                                : -1);
    if (!written || (*written < message.size() && !forRest))
    {
        // The bootstrap stopped reading: it is gone or stuck. Its unit's end reports why.
        manager_->endUnit(tracker.unitName());
        return;
    }
    if (forRest)
    {
        handoverWriter_->write(path, std::move(forRest), message.substr(*written));
        followed.writingRest = true;
    }
    const auto now = Deadlines::Clock::now();
    tracker.runHandedOver(monotonicUsec(now), startUp ? startUp->cpuUsageUsec : std::nullopt);
    outputWatch_->watch(path, run.outputDir, run.limits.outputBytes);
    deadlines_->arm(path, now + std::chrono::seconds(run.limits.wallTimeS),
                    [this, path] { bus_->post([this, path] { onWallTimeout(path); }); });
    watchRun(path);
    if (followed.callbacks.onStarted)
    {
        followed.callbacks.onStarted();
    }
}

void SystemdSandbox::onWarmReady(const std::string& path)
{
    // The watch has run its once; its entry goes too.
    readyWatches_.erase(path);
    const auto it = trackers_.find(path);
    if (it == trackers_.end() || !it->second.tracker.prepared() || it->second.tracker.answered())
    {
        return;
    }
    // For a warm unit this says it is ready to take a run; its run starts at handover.
    if (it->second.callbacks.onStarted)
    {
        it->second.callbacks.onStarted();
    }
}

void SystemdSandbox::onHandoverStalled(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end() || it->second.tracker.answered())
    {
        return;
    }
    it->second.writingRest = false;
    // As when the first write failed: its unit's end reports why.
    manager_->endUnit(it->second.tracker.unitName());
}

void SystemdSandbox::onWallTimeout(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    it->second.tracker.timedOut();
    manager_->endUnit(it->second.tracker.unitName());
}

} // namespace pyrunner::systemd
