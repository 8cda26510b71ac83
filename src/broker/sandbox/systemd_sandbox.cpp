#include "broker/sandbox/systemd_sandbox.hpp"

#include "broker/sandbox/bus_path.hpp"
#include "broker/sandbox/pidfd.hpp"
#include "broker/units/warm_bootstrap.hpp"
#include "common/run_files.hpp"
#include "common/run_id.hpp"
#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <limits>
#include <map>
#include <poll.h>
#include <stdexcept>
#include <string_view>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr const char* systemdService = "org.freedesktop.systemd1";
constexpr const char* managerPath = "/org/freedesktop/systemd1";
constexpr const char* managerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* unitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* serviceInterface = "org.freedesktop.systemd1.Service";
constexpr const char* propertiesInterface = "org.freedesktop.DBus.Properties";
constexpr auto callTimeout = std::chrono::seconds(10);
constexpr std::uint64_t unknownUsage = std::numeric_limits<std::uint64_t>::max();
// Looking for the run's interpreter again: 1, 2, 4 and 8 ms after the first look.
constexpr unsigned runProcessLooks = 4;
constexpr auto firstLookAgain = std::chrono::milliseconds(1);
// Its Deadlines key: the unit's path and this; the path alone keys a warm run's wall limit.
constexpr const char* runProcessLookKey = "#run-process";

using DbusProperty = sdbus::Struct<std::string, sdbus::Variant>;
using DbusProperties = std::vector<DbusProperty>;
using AuxUnits = std::vector<sdbus::Struct<std::string, DbusProperties>>;
using PropertyMap = std::map<std::string, sdbus::Variant>;

template <class... Ts> struct Overloaded : Ts...
{
    using Ts::operator()...;
};
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

sdbus::Variant toVariant(const PropertyValue& value)
{
    return std::visit(
        Overloaded{
            [](const std::vector<ExecCommand>& commands) {
        std::vector<sdbus::Struct<std::string, StringList, StringList>> out;
        out.reserve(commands.size());
        for (const auto& c : commands)
        {
            out.emplace_back(c.path, c.argv, c.flags);
        }
        return sdbus::Variant(out);
            },
            [](const NameFilter& filter) {
        return sdbus::Variant(sdbus::Struct<bool, StringList>(filter.allow, filter.names));
        },
        [](const std::vector<IpPrefix>& prefixes) {
        std::vector<sdbus::Struct<std::int32_t, Bytes, std::uint32_t>> out;
        out.reserve(prefixes.size());
        for (const auto& p : prefixes)
        {
            out.emplace_back(p.family, p.address, p.prefixLength);
        }
        return sdbus::Variant(out);
        },
        [](const std::vector<BindMount>& mounts) {
        std::vector<sdbus::Struct<std::string, std::string, bool, std::uint64_t>> out;
        out.reserve(mounts.size());
        for (const auto& m : mounts)
        {
            out.emplace_back(m.source, m.destination, m.ignoreMissing, m.flags);
        }
        return sdbus::Variant(out);
    },
        [](const std::vector<CredentialSource>& credentials) {
        std::vector<sdbus::Struct<std::string, std::string>> out;
        out.reserve(credentials.size());
        for (const auto& c : credentials)
        {
            out.emplace_back(c.id, c.path);
        }
        return sdbus::Variant(out);
        },
        [](const std::vector<TemporaryFs>& filesystems) {
        std::vector<sdbus::Struct<std::string, std::string>> out;
        out.reserve(filesystems.size());
        for (const auto& f : filesystems)
        {
            out.emplace_back(f.path, f.options);
        }
        return sdbus::Variant(out);
        }, [](const auto& plain) { return sdbus::Variant(plain); },
        }, value);
}

DbusProperties toDbus(const std::vector<Property>& properties)
{
    DbusProperties out;
    out.reserve(properties.size());
    for (const auto& property : properties)
    {
        out.emplace_back(property.name, toVariant(property.value));
    }
    return out;
}

// The manager is between two instances of itself (re-executing), not gone for good.
bool isManagerAway(const sdbus::Error& e)
{
    const auto& name = e.getName();
    return name == "org.freedesktop.DBus.Error.NoReply" ||
           name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           name == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

template <class T> std::optional<T> valueOf(const PropertyMap& map, const std::string& name)
{
    const auto it = map.find(name);
    if (it == map.end() || !it->second.containsValueOfType<T>())
    {
        return std::nullopt;
    }
    return it->second.get<T>();
}

std::optional<std::uint64_t> knownTimestamp(const PropertyMap& map, const std::string& name)
{
    const auto value = valueOf<std::uint64_t>(map, name);
    return value && *value != 0 ? value : std::nullopt;
}

// How the unit ended, from its Service properties.
core::UnitOutcome outcomeFrom(const PropertyMap& service)
{
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.result = valueOf<std::string>(service, "Result").value_or("");
    outcome.execMainCode = valueOf<std::int32_t>(service, "ExecMainCode").value_or(0);
    outcome.execMainStatus = valueOf<std::int32_t>(service, "ExecMainStatus").value_or(0);
    outcome.startMonotonicUsec = knownTimestamp(service, "ExecMainStartTimestampMonotonic");
    outcome.exitMonotonicUsec = knownTimestamp(service, "ExecMainExitTimestampMonotonic");
    const auto cpu = valueOf<std::uint64_t>(service, "CPUUsageNSec");
    if (cpu && *cpu != unknownUsage)
    {
        outcome.cpuUsageNsec = cpu;
    }
    return outcome;
}

bool isInactive(const std::string& activeState)
{
    return activeState == "inactive" || activeState == "failed";
}

// Writes the whole message: at once where the FIFO can be made to hold it, else as the
// bootstrap reads, waiting for room a bounded time.
bool writeHandover(int fd, std::string_view message)
{
    ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(message.size()));
    constexpr int roomWaitMs = 5000;
    while (!message.empty())
    {
        const auto written = ::write(fd, message.data(), message.size());
        if (written > 0)
        {
            message.remove_prefix(static_cast<std::size_t>(written));
            continue;
        }
        if (written < 0 && errno == EINTR)
        {
            continue;
        }
        pollfd room{fd, POLLOUT, 0};
        if (written < 0 && errno == EAGAIN && ::poll(&room, 1, roomWaitMs) > 0)
        {
            continue;
        }
        return false;
    }
    return true;
}

// steady_clock is CLOCK_MONOTONIC, the clock of systemd's *TimestampMonotonic.
std::uint64_t monotonicUsec(Deadlines::Clock::time_point time)
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

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

// The run's interpreter, which the unit's main process, the reaper (`mainPid`), forked: found
// among the cgroup's processes by its parent. Empty when it is not there, or not yet (systemd
// ends the start job as the reaper's exec succeeds, which can be before the reaper has
// forked), or the kernel cannot tell.
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

std::string describeStartFailure(const std::string& jobResult, const core::UnitOutcome& outcome)
{
    return "systemd could not start the run's unit (start job " + jobResult + ", result " +
           (outcome.result.empty() ? "unknown" : outcome.result) + ", status " +
           std::to_string(outcome.execMainStatus) + ").";
}

} // namespace

SystemdSandbox::SystemdSandbox(UnitSettings settings, std::function<void()> onConnectionLost)
    : settings_(std::move(settings)), onConnectionLost_(std::move(onConnectionLost))
{
    try
    {
        connection_ = sdbus::createSystemBusConnection();
        manager_ = sdbus::createProxy(*connection_, systemdService, managerPath);
        // Signals are matched before any unit exists, so no run can end unseen.
        matches_.push_back(connection_->addMatch(
            std::string("type='signal',sender='") + systemdService + "',path='" + managerPath +
                "',interface='" + managerInterface + "',member='JobRemoved'",
            [this](sdbus::Message& m) { onJobRemoved(m); }));
        matches_.push_back(connection_->addMatch(
            std::string("type='signal',sender='") + systemdService + "',path='" + managerPath +
                "',interface='" + managerInterface + "',member='Reloading'",
            [this](sdbus::Message& m) { onReloading(m); }));
        matches_.push_back(connection_->addMatch(
            std::string("type='signal',sender='") + systemdService +
                "',path_namespace='/org/freedesktop/systemd1/unit',interface='" +
                propertiesInterface + "',member='PropertiesChanged',arg0='" + unitInterface + "'",
            [this](sdbus::Message& m) { onPropertiesChanged(m); }));
        matches_.push_back(connection_->addMatch(
            std::string("type='signal',sender='") + systemdService +
                "',path_namespace='/org/freedesktop/systemd1/unit',interface='" +
                propertiesInterface + "',member='PropertiesChanged',arg0='" + serviceInterface +
                "'",
            [this](sdbus::Message& m) { onServiceChanged(m); }));
        manager_->callMethod("Subscribe").onInterface(managerInterface).withTimeout(callTimeout);
    }
    catch (const sdbus::Error& e)
    {
        throw std::runtime_error("cannot reach systemd on the system bus: " + e.getMessage());
    }
    bus_ = std::make_unique<BusThread>(*connection_, [this] { abandonAll(); });
    oomWatch_ = OomWatch::forHost(
        [this](const std::string& path) { bus_->post([this, path] { onOutOfMemory(path); }); });
}

SystemdSandbox::~SystemdSandbox()
{
    stop();
    // Their watches end at the bus thread, which is declared after them and so goes first.
    trackers_.clear();
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
            manager_->callMethod("SetUnitProperties")
                .onInterface(managerInterface)
                .withTimeout(callTimeout)
                .withArguments(settings_.slice, true, toDbus(sliceCpuCap(cpus)));
        }
        catch (const sdbus::Error& e)
        {
            logMessage(LOG_WARNING, "pyrunner-broker: cannot cap the CPU of " + settings_.slice +
                                        ": " + e.getMessage());
        }
    });
}

void SystemdSandbox::start(core::SandboxRun run, core::SandboxCallbacks callbacks)
{
    bus_->post([this, run = std::move(run), callbacks = std::move(callbacks)]() mutable {
        startOnBus(run, std::move(callbacks));
    });
}

void SystemdSandbox::kill(const std::string& runId)
{
    bus_->post([this, name = core::unitNameFor(runId)] { killOnBus(name); });
}

void SystemdSandbox::abandonAll()
{
    // Without signals the runs in flight cannot be followed to their end.
    std::vector<std::string> paths;
    for (const auto& [path, tracker] : trackers_)
    {
        paths.push_back(path);
    }
    for (const auto& path : paths)
    {
        core::UnitOutcome lost;
        lost.error = "The server lost its connection to systemd while the run was going on.";
        finish(path, lost);
    }
    if (onConnectionLost_)
    {
        onConnectionLost_();
    }
}

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
    return it != trackers_.end() && it->second.warm && !it->second.handedOver;
}

std::string SystemdSandbox::preparedEnvironment(const std::string& runId) const
{
    const auto it = trackers_.find(unitObjectPath(core::unitNameFor(runId)));
    return it != trackers_.end() && it->second.warm ? it->second.environment : std::string();
}

void SystemdSandbox::prepareOnBus(const core::SandboxRun& prepared, const core::Limits& ceiling,
                                  core::SandboxCallbacks callbacks)
{
    // A FIFO in the run's directory, held open by the broker (for reading too, so that
    // opening it never waits) until the unit has ended. Readable by "others" alone: the unit's
    // dynamic user opens it through its bind mount; on the host, only root and the front's
    // group may enter the directory, and that group may not open the FIFO.
    const auto fifo = prepared.outputDir + "/" + core::RunFiles::handoverName;
    constexpr mode_t fifoMode = 0604;
    core::UniqueFd handover;
    if (::mkfifo(fifo.c_str(), fifoMode) == 0)
    {
        handover =
            core::UniqueFd(::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
        // mkfifo's mode is cut by the umask.
        if (handover && ::fchmod(handover.get(), fifoMode) != 0)
        {
            handover = core::UniqueFd();
        }
    }
    if (!handover)
    {
        core::UnitOutcome failed;
        failed.error = "The broker could not make a warm unit's handover FIFO.";
        callbacks.onExited(failed);
        return;
    }
    const auto unit = buildWarmUnit(prepared, ceiling, settings_, fifo);
    const auto path = unitObjectPath(unit.name);
    auto& tracker = track(path, unit.name, std::move(callbacks));
    tracker.warm = true;
    tracker.waitingLimits = runCgroupLimits(prepared.limits);
    tracker.environment = prepared.environment;
    tracker.handover = std::move(handover);
    startUnit(path, unit);
}

void SystemdSandbox::handOver(const std::string& path, const core::SandboxRun& run,
                              core::SandboxCallbacks callbacks)
{
    auto& tracker = trackers_.at(path);
    tracker.callbacks = std::move(callbacks);
    tracker.handedOver = true;
    // Most runs keep the default limits, which the unit already has: a round trip to systemd,
    // and its writing of drop-ins, saved.
    auto limits = runCgroupLimits(run.limits);
    try
    {
        if (tracker.waitingLimits != limits)
        {
            manager_->callMethod("SetUnitProperties")
                .onInterface(managerInterface)
                .withTimeout(callTimeout)
                .withArguments(tracker.unitName, true, toDbus(limits));
        }
    }
    catch (const sdbus::Error& e)
    {
        // Never run code under limits other than its own.
        logMessage(LOG_WARNING, "pyrunner-broker: cannot set the limits of " + tracker.unitName +
                                    ": " + e.getMessage());
        killOnBus(tracker.unitName);
        return;
    }
    if (!writeHandover(tracker.handover.get(),
                       handoverMessage(run.code, run.stdinData, run.args, run.limits)))
    {
        // The bootstrap stopped reading: it is gone or stuck. Its unit's end reports why.
        killOnBus(tracker.unitName);
        return;
    }
    const auto now = Deadlines::Clock::now();
    tracker.handedOverUsec = monotonicUsec(now);
    deadlines_->arm(path, now + std::chrono::seconds(run.limits.wallTimeS),
                    [this, path] { bus_->post([this, path] { onWallTimeout(path); }); });
    watchRunProcess(path, tracker);
    if (tracker.callbacks.onStarted)
    {
        tracker.callbacks.onStarted();
    }
}

void SystemdSandbox::onWallTimeout(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    it->second.timedOut = true;
    killOnBus(it->second.unitName);
}

void SystemdSandbox::startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks)
{
    const auto name = core::unitNameFor(run.id);
    const auto path = unitObjectPath(name);
    if (isPrepared(run.id))
    {
        auto& tracker = trackers_.at(path);
        if (!tracker.jobDone)
        {
            tracker.waitingRun = run;
            tracker.callbacks = std::move(callbacks);
            return;
        }
        handOver(path, run, std::move(callbacks));
        return;
    }
    const auto unit = buildRunUnit(run, settings_);
    track(path, unit.name, std::move(callbacks));
    startUnit(path, unit);
}

void SystemdSandbox::runUnit(const TransientUnit& unit, core::SandboxCallbacks callbacks)
{
    const auto path = unitObjectPath(unit.name);
    track(path, unit.name, std::move(callbacks));
    startUnit(path, unit);
}

SystemdSandbox::Tracker& SystemdSandbox::track(const std::string& path, std::string unitName,
                                               core::SandboxCallbacks callbacks)
{
    auto& tracker = trackers_[path];
    tracker = Tracker{};
    tracker.unitName = std::move(unitName);
    tracker.callbacks = std::move(callbacks);
    return tracker;
}

void SystemdSandbox::startUnit(const std::string& path, const TransientUnit& unit)
{
    try
    {
        sdbus::ObjectPath job;
        manager_->callMethod("StartTransientUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(unit.name, std::string("fail"), toDbus(unit.properties), AuxUnits{})
            .storeResultsTo(job);
    }
    catch (const sdbus::Error& e)
    {
        core::UnitOutcome refused;
        refused.error = "systemd refused the run's unit: " + e.getMessage();
        finish(path, refused);
    }
}

void SystemdSandbox::killOnBus(const std::string& unitName)
{
    // SIGKILL the whole cgroup for an immediate end, then stop the unit, which also
    // covers a start job that has not run yet. Either may find the unit already gone.
    try
    {
        manager_->callMethod("KillUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(unitName, std::string("all"), std::int32_t{SIGKILL});
    }
    catch (const sdbus::Error&)
    {
    }
    try
    {
        sdbus::ObjectPath job;
        manager_->callMethod("StopUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(unitName, std::string("replace"))
            .storeResultsTo(job);
    }
    catch (const sdbus::Error&)
    {
    }
}

void SystemdSandbox::learnControlGroup(const std::string& path, Tracker& tracker)
{
    try
    {
        // Where systemd placed the unit: nothing the run can write decides it.
        tracker.controlGroup =
            unitProperty(path, serviceInterface, "ControlGroup").get<std::string>();
    }
    catch (const sdbus::Error&)
    {
        // Gone already; its end says the rest.
    }
}

void SystemdSandbox::watchMemory(const std::string& path, const Tracker& tracker)
{
    if (!oomWatch_)
    {
        return;
    }
    try
    {
        oomWatch_->watch(path, tracker.controlGroup);
    }
    catch (const std::exception& e)
    {
        logMessage(LOG_WARNING, "pyrunner-broker: running out of memory may not end " +
                                    tracker.unitName + ": " + e.what());
    }
}

void SystemdSandbox::onOutOfMemory(const std::string& path)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    it->second.outOfMemory = true;
    logMessage(LOG_INFO, "pyrunner-broker: " + it->second.unitName +
                             " ran out of memory: ending the whole unit");
    // Killing the main process ends the unit: systemd then SIGKILLs the rest of its cgroup
    // (KillMode=control-group) before ExecStopPost. "all" would also kill the ExecStopPost
    // helper, and lose the cgroup's figures, when the unit has already come that far.
    try
    {
        manager_->callMethod("KillUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(it->second.unitName, std::string("main"), std::int32_t{SIGKILL});
    }
    catch (const sdbus::Error&)
    {
        // No main process left: systemd is already ending the unit.
    }
}

sdbus::Variant SystemdSandbox::unitProperty(const std::string& path, const char* interface,
                                            const char* name)
{
    sdbus::Variant value;
    sdbus::createProxy(*connection_, systemdService, path)
        ->callMethod("Get")
        .onInterface(propertiesInterface)
        .withTimeout(callTimeout)
        .withArguments(std::string(interface), std::string(name))
        .storeResultsTo(value);
    return value;
}

bool SystemdSandbox::follow(const std::string& runId, core::SandboxCallbacks callbacks,
                            core::UniqueFd handover)
{
    const auto name = core::unitNameFor(runId);
    sdbus::ObjectPath path;
    try
    {
        manager_->callMethod("GetUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(name)
            .storeResultsTo(path);
    }
    catch (const sdbus::Error&)
    {
        return false;
    }
    try
    {
        // Held, as a unit started here is, so that its end can be read before it is collected.
        manager_->callMethod("RefUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(name);
    }
    catch (const sdbus::Error&)
    {
        // Collected meanwhile: finishIfInactive below learns it.
    }
    auto& tracker = track(path, name, std::move(callbacks));
    tracker.jobDone = true;
    tracker.jobResult = "done";
    // Followed, never prepared here: no run is handed to it by this broker.
    tracker.warm = static_cast<bool>(handover);
    tracker.handedOver = true;
    tracker.handover = std::move(handover);
    // Its start job is long done; the run may still be queued for whoever asked.
    if (tracker.callbacks.onStarted)
    {
        tracker.callbacks.onStarted();
    }
    learnControlGroup(path, tracker);
    watchMemory(path, tracker);
    finishIfInactive(path);
    return true;
}

std::vector<std::string> SystemdSandbox::loadedRuns()
{
    using UnitInfo =
        sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                      sdbus::ObjectPath, std::uint32_t, std::string, sdbus::ObjectPath>;
    std::vector<UnitInfo> units;
    manager_->callMethod("ListUnitsByPatterns")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(std::vector<std::string>{}, std::vector<std::string>{core::unitNameFor("*")})
        .storeResultsTo(units);
    std::vector<std::string> ids;
    for (const auto& unit : units)
    {
        if (const auto id = core::runIdOfUnit(unit.get<0>()))
        {
            ids.push_back(*id);
        }
    }
    return ids;
}

void SystemdSandbox::onReloading(sdbus::Message& message)
{
    bool starting = false;
    message >> starting;
    if (starting)
    {
        return;
    }
    std::vector<std::string> paths;
    for (const auto& [path, tracker] : trackers_)
    {
        if (tracker.jobDone)
        {
            paths.push_back(path);
        }
        // systemd 252 cannot read back the ExecStartEx= and ExecStopPostEx= lines it wrote
        // for a transient unit, so after a reload it refuses to change one: a warm unit
        // still waiting could not take its run's limits. It goes; the front prepares another.
        if (tracker.warm && !tracker.handedOver && !tracker.waitingRun)
        {
            killOnBus(tracker.unitName);
        }
    }
    for (const auto& path : paths)
    {
        finishIfInactive(path);
    }
}

void SystemdSandbox::onJobRemoved(sdbus::Message& message)
{
    std::uint32_t id = 0;
    sdbus::ObjectPath job;
    std::string unit;
    std::string result;
    message >> id >> job >> unit >> result;
    const auto path = unitObjectPath(unit);
    const auto it = trackers_.find(path);
    if (it == trackers_.end() || it->second.jobDone)
    {
        return;
    }
    it->second.jobDone = true;
    it->second.jobResult = result;
    if (result == "done")
    {
        learnControlGroup(path, it->second);
        watchMemory(path, it->second);
        // A warm unit's run has yet to come.
        if (!it->second.warm)
        {
            watchRunProcess(path, it->second);
        }
        // For a warm unit this says it is ready to take a run; its run starts at handover.
        if (it->second.callbacks.onStarted)
        {
            it->second.callbacks.onStarted();
        }
        if (auto waiting = std::exchange(it->second.waitingRun, std::nullopt))
        {
            handOver(path, *waiting, it->second.callbacks);
        }
    }
    // The unit may have ended before this signal came.
    finishIfInactive(path);
}

void SystemdSandbox::onPropertiesChanged(sdbus::Message& message)
{
    const auto path = message.getPath();
    const auto it = trackers_.find(path);
    if (it == trackers_.end() || !it->second.jobDone)
    {
        return;
    }
    std::string interface;
    PropertyMap changed;
    message >> interface >> changed;
    const auto state = valueOf<std::string>(changed, "ActiveState");
    const auto& tracker = it->second;
    if (state && isInactive(*state))
    {
        finish(path, tracker.answered ? core::UnitOutcome{} : readOutcome(path));
        return;
    }
    // An idle warm unit that ends has no run to answer; its files go once it is gone.
    if (valueOf<std::string>(changed, "SubState") == "stop-post" && !tracker.answered &&
        (!tracker.warm || tracker.handedOver))
    {
        finishStopping(path);
    }
}

void SystemdSandbox::onServiceChanged(sdbus::Message& message)
{
    const auto it = trackers_.find(message.getPath());
    if (it == trackers_.end())
    {
        return;
    }
    std::string interface;
    PropertyMap changed;
    message >> interface >> changed;
    for (auto& [name, value] : changed)
    {
        it->second.service.insert_or_assign(name, std::move(value));
    }
}

void SystemdSandbox::finishStopping(const std::string& path)
{
    const auto& tracker = trackers_.at(path);
    // Both come with the unit's start; a unit seen first when it had ended has neither.
    if (tracker.controlGroup.empty() || !tracker.service.contains("Result"))
    {
        return;
    }
    const auto stats = readCgroup(tracker);
    if (!stats)
    {
        // Gone already: the unit's end, with the helper's record, comes next.
        return;
    }
    auto outcome = outcomeFrom(tracker.service);
    outcome.cgroupStats = stats;
    answer(path, std::move(outcome));
}

std::optional<core::CgroupStats> SystemdSandbox::readCgroup(const Tracker& tracker) const
{
    try
    {
        return cgroups_.read(tracker.controlGroup);
    }
    catch (const std::runtime_error& e)
    {
        logMessage(LOG_WARNING, "pyrunner-broker: cannot read the cgroup of " + tracker.unitName +
                                    ": " + e.what());
        return std::nullopt;
    }
}

void SystemdSandbox::watchRunProcess(const std::string& path, Tracker& tracker, unsigned attempt)
{
    // systemd announces it with the start, before the start job's end.
    const auto main = valueOf<std::uint32_t>(tracker.service, "MainPID");
    if (!main || *main == 0 || tracker.controlGroup.empty())
    {
        return;
    }
    tracker.mainPid = static_cast<pid_t>(*main);
    tracker.runProcess = openRunProcess(cgroups_, tracker.controlGroup, tracker.mainPid);
    if (tracker.runProcess)
    {
        tracker.runReaped =
            bus_->watchHangup(tracker.runProcess.get(), [this, path] { onRunReaped(path); });
        return;
    }
    // The start job ends as the reaper's exec succeeds, which may be before the reaper has
    // run at all, and nothing signals its fork: a few looks, soon after, one interpreter
    // start-up at most. Missed, the run is answered when its unit stops.
    if (attempt < runProcessLooks)
    {
        deadlines_->arm(path + runProcessLookKey,
                        Deadlines::Clock::now() + firstLookAgain * (1U << attempt),
                        [this, path, attempt] {
            bus_->post([this, path, attempt] {
                const auto it = trackers_.find(path);
                if (it != trackers_.end() && !it->second.answered && !it->second.runProcess)
                {
                    watchRunProcess(path, it->second, attempt + 1);
                }
            });
        });
    }
}

void SystemdSandbox::onRunReaped(const std::string& path)
{
    const auto reapedUsec = monotonicUsec(Deadlines::Clock::now());
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    auto& tracker = it->second;
    const auto exit = processExit(tracker.runProcess.get());
    tracker.runProcess.reset();
    // Killed, it may have been by systemd at RuntimeMaxSec=, which only the unit's result
    // tells.
    if (!exit || !WIFEXITED(exit->waitStatus) || tracker.answered)
    {
        return;
    }
    bool over = false;
    try
    {
        over = cgroups_.unifiedId(tracker.controlGroup) == exit->cgroupId &&
               !runProcessesLeft(cgroups_, tracker.controlGroup, tracker.mainPid);
    }
    catch (const std::runtime_error&)
    {
        // A ControlGroup that is no plain path: readCgroup says so when the unit stops.
    }
    const auto stats = over ? readCgroup(tracker) : std::nullopt;
    if (!stats)
    {
        return;
    }
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.execMainCode = CLD_EXITED;
    outcome.execMainStatus = WEXITSTATUS(exit->waitStatus);
    outcome.result = outcome.execMainStatus == 0 ? "success" : "exit-code";
    // answer() puts a warm run's handover in its place.
    outcome.startMonotonicUsec = knownTimestamp(tracker.service, "ExecMainStartTimestampMonotonic");
    outcome.exitMonotonicUsec = reapedUsec;
    outcome.cgroupStats = stats;
    outcome.toldByKernel = true;
    answer(path, std::move(outcome));
}

void SystemdSandbox::finishIfInactive(const std::string& path)
{
    try
    {
        if (isInactive(unitProperty(path, unitInterface, "ActiveState").get<std::string>()))
        {
            const auto it = trackers_.find(path);
            finish(path, it != trackers_.end() && it->second.answered ? core::UnitOutcome{}
                                                                      : readOutcome(path));
        }
    }
    catch (const sdbus::Error& e)
    {
        // systemd re-executing (a daemon-reexec right after a reload) drops its calls: the
        // unit is still followed, and its end comes as a signal from the new instance.
        if (isManagerAway(e))
        {
            return;
        }
        core::UnitOutcome lost;
        lost.error = "The server lost track of the run's unit: " + e.getMessage();
        finish(path, lost);
    }
}

core::UnitOutcome SystemdSandbox::readOutcome(const std::string& path)
{
    try
    {
        PropertyMap service;
        sdbus::createProxy(*connection_, systemdService, path)
            ->callMethod("GetAll")
            .onInterface(propertiesInterface)
            .withTimeout(callTimeout)
            .withArguments(std::string(serviceInterface))
            .storeResultsTo(service);
        return outcomeFrom(service);
    }
    catch (const sdbus::Error& e)
    {
        core::UnitOutcome outcome;
        outcome.error = "The server could not read how the run's unit ended: " + e.getMessage();
        return outcome;
    }
}

void SystemdSandbox::finish(const std::string& path, core::UnitOutcome outcome)
{
    answer(path, std::move(outcome));
    const auto it = trackers_.find(path);
    if (it == trackers_.end())
    {
        return;
    }
    auto onUnitGone = std::move(it->second.callbacks.onUnitGone);
    trackers_.erase(it);
    if (onUnitGone)
    {
        onUnitGone();
    }
}

void SystemdSandbox::answer(const std::string& path, core::UnitOutcome outcome)
{
    const auto it = trackers_.find(path);
    if (it == trackers_.end() || it->second.answered)
    {
        return;
    }
    auto& tracker = it->second;
    tracker.answered = true;
    tracker.runReaped = {};
    tracker.runProcess.reset();
    deadlines_->cancel(path);
    deadlines_->cancel(path + runProcessLookKey);
    if (tracker.handedOverUsec)
    {
        outcome.startMonotonicUsec = tracker.handedOverUsec;
    }
    if (oomWatch_)
    {
        oomWatch_->unwatch(path);
    }
    if (tracker.jobDone && tracker.jobResult != "done")
    {
        outcome.started = false;
        outcome.error = describeStartFailure(tracker.jobResult, outcome);
    }
    else if (tracker.timedOut && outcome.error.empty())
    {
        // What systemd reports when RuntimeMaxSec= ends a cold run.
        outcome.result = "timeout";
    }
    else if (tracker.outOfMemory && outcome.error.empty())
    {
        // What systemd reports where it sees the OOM itself (cgroup v2), also when this
        // broker's kill came before the kernel's and so the cgroup counted none.
        outcome.result = "oom-kill";
    }
    // Its answer does not matter: a unit never referenced (refused) or already collected
    // holds nothing. Not waiting for it keeps systemd's turn off the run's answer.
    try
    {
        manager_->callMethod("UnrefUnit")
            .onInterface(managerInterface)
            .withArguments(tracker.unitName)
            .dontExpectReply();
    }
    catch (const sdbus::Error&)
    {
        // The connection is gone: so is every reference it held.
    }
    // Last, and from a copy: what it does may change the trackers.
    const auto onExited = std::move(tracker.callbacks.onExited);
    onExited(std::move(outcome));
}

} // namespace pyrunner::systemd
