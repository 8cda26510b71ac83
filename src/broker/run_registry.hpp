#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pyrunner::systemd
{

// The broker's runs from its call to the end of their unit: which have a unit that has not
// ended, which wait for their environment, which are idle warm units and whose, and what
// becomes of a run's files once its unit is gone. Pure bookkeeping; the broker does what its
// answers say. Touched on the bus thread only.
class RunRegistry
{
  public:
    // What a release of a run's files calls for.
    enum class Release
    {
        // Its unit still runs: nothing to release yet.
        refused,
        // Its unit is stopping and systemd may yet open the files for the stop-post helper:
        // they go with the unit.
        withUnit,
        // Nothing of it is left: they go now.
        now,
    };

    // How a run's unit ended, as far as the registry knows.
    struct Exit
    {
        // A warm unit that was never given a run.
        bool idleWarm = false;
    };

    // A unit of the run's own is started, now or once its environment is built.
    void starting(const std::string& id);
    // The run waits for its requirements' environment before its unit starts.
    void waitForEnvironment(const std::string& id);
    // Its environment's build is done: false when the run was killed meanwhile, and so has
    // been reported ended already.
    bool environmentReady(const std::string& id);
    // The run ended without a unit (its environment could not be built).
    void endedWithoutUnit(const std::string& id);
    // A kill of the run: true when it was waiting for its environment and ends now, without
    // a unit.
    bool killWhileWaiting(const std::string& id);

    // A warm unit is started for the run, prepared by the connection `owner` (its unique bus
    // name).
    void prepared(const std::string& id, const std::string& owner);
    // The warm unit is given its run.
    void handedOver(const std::string& id);
    // The connection `owner` left the bus: the idle warm units it prepared, which no front
    // will use or release now. They are forgotten as idle, and their files go with them.
    std::vector<std::string> ownerGone(const std::string& owner);

    // A unit an earlier broker started is followed.
    void followed(const std::string& id);
    // The run's unit has ended (it is answered); systemd may still be stopping it.
    Exit exited(const std::string& id);
    // The unit is gone: true when the run's files go now.
    bool unitGone(const std::string& id);
    Release release(const std::string& id);

    // Its unit has not ended.
    bool isActive(const std::string& id) const { return active_.contains(id); }
    // Its unit has not ended, or has and systemd is still stopping it.
    bool isTracked(const std::string& id) const
    {
        return active_.contains(id) || ending_.contains(id);
    }

  private:
    std::set<std::string> active_;
    std::set<std::string> waitingForEnvironment_;
    // By run id, the unique bus name of the front that prepared it.
    std::map<std::string, std::string> idleWarm_;
    // Idle warm units stopped because their front left.
    std::set<std::string> abandoned_;
    // Runs answered whose unit systemd is still stopping, and whether their files go with it.
    std::map<std::string, bool> ending_;
};

} // namespace pyrunner::systemd
