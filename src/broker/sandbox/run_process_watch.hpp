#pragma once

#include "broker/sandbox/deadlines.hpp"
#include "broker/sandbox/unit_tracker.hpp"
#include "cgroup/cgroup_tree.hpp"
#include "common/fd.hpp"
#include "daemon/bus_thread.hpp"

#include <functional>
#include <map>
#include <string>
#include <sys/types.h>

namespace pyrunner::systemd
{

// Watches, through a pidfd, the interpreter that a unit's reaper forked for its run, which the
// reaper reaps as soon as it ends, and tells how it ended. systemd learns of the run's end only
// when the reaper has ended too, and then moves the stop-post helper into the unit's cgroup, a
// write that holds it for an RCU grace period (about 12 ms here) before it announces the stop:
// where the kernel tells how the interpreter ended (Linux 6.15), the run can be answered
// sooner. Everything here happens on the bus thread.
class RunProcessWatch
{
  public:
    // Runs on the bus thread, at most once per watch(), with the key watch() was given.
    using OnReaped = std::function<void(const std::string& key, const ReapedRun& reaped)>;

    // `bus` and `deadlines` must outlive it.
    RunProcessWatch(const CgroupTree& cgroups, BusThread& bus, Deadlines& deadlines,
                    OnReaped onReaped);

    // When the run starts (a cold unit's start job is done, a warm unit's run is handed over):
    // looks for the interpreter among the processes of `controlGroup` whose parent is the
    // reaper, `mainPid`, and watches it under `key`. Missed, nothing is told: the unit's stop
    // answers the run.
    void watch(const std::string& key, const std::string& controlGroup, pid_t mainPid);
    // Harmless for a key that is not watched.
    void unwatch(const std::string& key);

  private:
    struct Watched
    {
        std::string controlGroup;
        pid_t mainPid = 0;
        core::UniqueFd process;
        BusThread::Watch reaped;
    };

    // `attempt`: how many looks came before.
    void look(const std::string& key, unsigned attempt);
    void onReaped(const std::string& key);

    const CgroupTree& cgroups_;
    BusThread& bus_;
    Deadlines& deadlines_;
    const OnReaped onReaped_;
    std::map<std::string, Watched> watched_;
};

} // namespace pyrunner::systemd
