#include "broker/sandbox/bus_path.hpp"
#include "broker/sandbox/manager_calls.hpp"
#include "broker/sandbox/output_watch.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "common/run_id.hpp"
#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <syslog.h>
#include <utility>

// SystemdSandbox's following of units that an earlier broker started, after a restart.

namespace pyrunner::systemd
{

bool SystemdSandbox::follow(const std::string& runId, core::SandboxCallbacks callbacks,
                            core::UniqueFd handover, const std::string& outputDir,
                            std::optional<std::uint64_t> outputBytes)
{
    const auto name = core::unitNameFor(runId);
    const bool warm = static_cast<bool>(handover);
    const auto lookup = manager_->getUnit(name);
    switch (lookup.kind)
    {
    case UnitLookup::Kind::noSuchUnit:
        return false;
    case UnitLookup::Kind::failed:
        // Not a sign that the unit is gone: its run's files stay, and the caller is told.
        throw sdbus::Error("org.freedesktop.DBus.Error.Failed",
                           "systemd could not say whether the run's unit is loaded (" +
                               lookup.error + ").");
    case UnitLookup::Kind::managerAway:
        logMessage(LOG_INFO,
                   "pyrunner-broker: systemd is away; " + name + " is looked up once it is back");
        track(unitObjectPath(name), UnitTracker::awaitingLookUp(name, warm), std::move(callbacks),
              std::move(handover));
        watchOutputAgain(unitObjectPath(name), outputDir, outputBytes);
        return true;
    case UnitLookup::Kind::loaded:
        break;
    }
    track(lookup.path, UnitTracker::followed(name, warm), std::move(callbacks),
          std::move(handover));
    // Before the unit's state is read: a unit found ended is answered, and unwatched, there.
    watchOutputAgain(lookup.path, outputDir, outputBytes);
    followLoaded(lookup.path);
    return true;
}

void SystemdSandbox::watchOutputAgain(const std::string& path, const std::string& outputDir,
                                      std::optional<std::uint64_t> outputBytes)
{
    // None recorded: a warm unit not yet given its run, watched at its handover as ever.
    if (outputBytes)
    {
        outputWatch_->watch(path, outputDir, *outputBytes);
    }
}

void SystemdSandbox::followLoaded(const std::string& path)
{
    auto& followed = trackers_.at(path);
    const auto name = followed.tracker.unitName();
    try
    {
        // Held, as a unit started here is, so that its end can be read before it is collected.
        manager_->refUnit(name);
    }
    catch (const sdbus::Error& e)
    {
        // Collected meanwhile: readActiveState below learns it.
        logIgnored("cannot hold " + name, e);
    }
    // Its start job is long done; the run may still be queued for whoever asked.
    if (followed.callbacks.onStarted)
    {
        followed.callbacks.onStarted();
    }
    watchStarted(path);
    readActiveState(path);
}

void SystemdSandbox::lookUpAgain(const std::string& path)
{
    auto& tracker = trackers_.at(path).tracker;
    const auto lookup = manager_->getUnit(tracker.unitName());
    switch (lookup.kind)
    {
    case UnitLookup::Kind::loaded:
        tracker.found();
        followLoaded(path);
        return;
    case UnitLookup::Kind::managerAway:
        // Away again: its next Reloading comes back here.
        return;
    case UnitLookup::Kind::noSuchUnit:
        // It ended and was collected while systemd was away: its stop-post helper's record
        // is all there is.
        apply(path, tracker.lost("The run's unit was gone when systemd came back."));
        return;
    case UnitLookup::Kind::failed:
        apply(path, tracker.lost("The server lost track of the run's unit: " + lookup.error));
        return;
    }
}

std::vector<std::string> SystemdSandbox::loadedRuns()
{
    std::vector<std::string> ids;
    for (const auto& unit : manager_->listUnits(core::unitNameFor("*")))
    {
        if (const auto id = core::runIdOfUnit(unit))
        {
            ids.push_back(*id);
        }
    }
    return ids;
}

} // namespace pyrunner::systemd
