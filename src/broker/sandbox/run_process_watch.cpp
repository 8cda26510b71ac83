#include "broker/sandbox/run_process_watch.hpp"

#include "broker/sandbox/pidfd.hpp"
#include "daemon/journal.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <sys/wait.h>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// Looking for the run's interpreter again: 1, 2, 4 and 8 ms after the first look.
constexpr unsigned runProcessLooks = 4;
constexpr auto firstLookAgain = std::chrono::milliseconds(1);
// Its Deadlines key: the watch's key and this; the key alone is a warm run's wall limit's.
constexpr const char* lookAgainSuffix = "#run-process";

// A process of a unit's cgroup other than its reaper (`mainPid`): a pidfd, empty for the reaper
// or a process gone, and what the kernel says of it.
struct Process
{
    core::UniqueFd fd;
    std::optional<LiveProcess> live;
};

Process besideReaper(pid_t pid, pid_t mainPid)
{
    Process process{pid == mainPid ? core::UniqueFd() : openProcess(pid), std::nullopt};
    if (process.fd)
    {
        process.live = liveProcess(process.fd.get());
    }
    return process;
}

// The run's interpreter, found among the cgroup's processes by its parent. Empty when it is not
// there, or not yet (systemd ends the start job as the reaper's exec succeeds, which can be
// before the reaper has forked), or the kernel cannot tell.
core::UniqueFd openRunProcess(const CgroupTree& cgroups, const std::string& controlGroup,
                              pid_t mainPid)
{
    const auto pids = cgroups.processes(controlGroup);
    if (!pids)
    {
        return {};
    }
    core::UniqueFd found;
    for (const auto pid : *pids)
    {
        auto process = besideReaper(pid, mainPid);
        if (process.live && process.live->parent == mainPid)
        {
            if (found)
            {
                // Not the reaper's alone: which one is the interpreter cannot be told.
                return {};
            }
            found = std::move(process.fd);
        }
    }
    return found;
}

// Whether a process of the run other than its reaper is still in its cgroup. The stop-post
// helper, which joins it once the run's processes are gone, runs as root; every process of
// a run as its dynamic user.
bool runProcessesLeft(const CgroupTree& cgroups, const std::string& controlGroup, pid_t mainPid)
{
    const auto pids = cgroups.processes(controlGroup);
    return !pids || std::ranges::any_of(*pids, [mainPid](pid_t pid) {
        const auto process = besideReaper(pid, mainPid);
        // One gone since the list was read is not left; one whose number another took since
        // only keeps the run from being answered early.
        return process.fd && (!process.live || process.live->uid != 0);
    });
}

} // namespace

RunProcessWatch::RunProcessWatch(const CgroupTree& cgroups, BusThread& bus, Deadlines& deadlines,
                                 OnReaped onReaped)
    : cgroups_(cgroups), bus_(bus), deadlines_(deadlines), onReaped_(std::move(onReaped))
{
}

void RunProcessWatch::watch(const std::string& key, const std::string& controlGroup, pid_t mainPid)
{
    watched_.insert_or_assign(key, Watched{controlGroup, mainPid, {}, {}});
    look(key, 0);
}

void RunProcessWatch::unwatch(const std::string& key)
{
    watched_.erase(key);
    deadlines_.cancel(key + lookAgainSuffix);
}

void RunProcessWatch::look(const std::string& key, unsigned attempt)
{
    auto& watched = watched_.at(key);
    watched.process = openRunProcess(cgroups_, watched.controlGroup, watched.mainPid);
    if (watched.process)
    {
        watched.reaped = bus_.watchHangup(watched.process.get(), [this, key] { onReaped(key); });
        return;
    }
    // Nothing signals the reaper's fork: a few looks, soon after, one interpreter start-up at
    // most.
    if (attempt >= runProcessLooks)
    {
        return;
    }
    deadlines_.arm(key + lookAgainSuffix,
                   Deadlines::Clock::now() + firstLookAgain * (1U << attempt),
                   [this, bus = &bus_, key, attempt] {
        bus->post([this, key, attempt] {
            const auto it = watched_.find(key);
            if (it != watched_.end() && !it->second.process)
            {
                look(key, attempt + 1);
            }
        });
    });
}

void RunProcessWatch::onReaped(const std::string& key)
{
    ReapedRun reaped;
    reaped.reapedUsec = monotonicUsec(Deadlines::Clock::now());
    const auto node = watched_.extract(key);
    if (!node)
    {
        return;
    }
    const auto& watched = node.mapped();
    reaped.exit = processExit(watched.process.get());
    // What a killed interpreter leaves tells nothing the unit's result does not.
    if (!reaped.exit || !WIFEXITED(reaped.exit->waitStatus))
    {
        onReaped_(key, reaped);
        return;
    }
    try
    {
        reaped.last = cgroups_.unifiedId(watched.controlGroup) == reaped.exit->cgroupId &&
                      !runProcessesLeft(cgroups_, watched.controlGroup, watched.mainPid);
    }
    catch (const std::runtime_error&)
    {
        // A ControlGroup that is no plain path: reading it fails again, and says so, at the
        // unit's stop.
    }
    try
    {
        reaped.figures = reaped.last ? cgroups_.read(watched.controlGroup) : std::nullopt;
    }
    catch (const std::runtime_error& e)
    {
        logMessage(LOG_WARNING, "pyrunner-broker: cannot read the cgroup " + watched.controlGroup +
                                    ": " + e.what());
    }
    onReaped_(key, reaped);
}

} // namespace pyrunner::systemd
