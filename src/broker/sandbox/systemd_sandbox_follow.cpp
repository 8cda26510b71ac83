#include "broker/sandbox/bus_path.hpp"
#include "broker/sandbox/manager_calls.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "common/run_id.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <utility>

// SystemdSandbox's following of units that an earlier broker started, after a restart.

namespace pyrunner::systemd
{

bool SystemdSandbox::follow(const std::string& runId, core::SandboxCallbacks callbacks,
                            core::UniqueFd handover)
{
    const auto name = core::unitNameFor(runId);
    const bool warm = static_cast<bool>(handover);
    const auto lookup = manager_->getUnit(name);
    if (lookup.kind != UnitLookup::Kind::loaded)
    {
        return false;
    }
    track(lookup.path, UnitTracker::followed(name, warm), std::move(callbacks),
          std::move(handover));
    followLoaded(lookup.path);
    return true;
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
