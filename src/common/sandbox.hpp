#pragma once

#include "common/cgroup_stats.hpp"
#include "common/environment.hpp"
#include "common/fd.hpp"
#include "common/limits.hpp"
#include "common/tenant.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pyrunner::core
{

// Everything the sandbox needs to start one run; nothing in it chooses how it is confined.
struct SandboxRun
{
    std::string id;
    std::string code;
    std::string stdinData;
    std::vector<std::string> args;
    Limits limits;
    // The environment the front asked for, and the run's own requirements (a normalised
    // list, whose environment is requirementsEnvironmentName of it).
    std::string environment = std::string(defaultEnvironment);
    std::vector<std::string> requirements;
    // Resolved from `environment` by the privileged side.
    Interpreter interpreter;
    // A warm unit's: modules its bootstrap imports before it waits for its run.
    std::vector<std::string> preImports;
    // Root-owned directory the run's stdout, stderr and cgroup figures are written to;
    // chosen by the privileged side, never by a request.
    std::string outputDir;
    // The script's path in the working directory, among the files the run brings, run instead
    // of `code` when not empty.
    std::string entry;
    // The tar of the files the run brings (docs/api.md, "Files in"), for the broker to copy
    // into the run's directory; none, or an empty file, when it brings none.
    std::shared_ptr<const UniqueFd> filesIn;
    // Set by the privileged side once the files are in the run's directory for the unit.
    bool bringsFiles = false;
    // The tenant whose slice the unit runs in, with the slice's caps.
    TenantSlice slice;
};

// How systemd saw the unit end.
struct UnitOutcome
{
    // False when systemd refused the unit or its start job failed.
    bool started = false;
    // Asked to follow a run, the sandbox found neither its unit nor a record of its end: it
    // never started (a server stopped between accepting and starting it).
    bool vanished = false;
    // A sentence for the operator when the unit could not be started or followed.
    std::string error;
    // org.freedesktop.systemd1.Service.Result: success, exit-code, signal, timeout, oom-kill, ...
    std::string result;
    // siginfo code of the main process: CLD_EXITED, CLD_KILLED or CLD_DUMPED.
    int execMainCode = 0;
    int execMainStatus = 0;
    // CLOCK_MONOTONIC microseconds of the main process' start and exit.
    std::optional<std::uint64_t> startMonotonicUsec;
    std::optional<std::uint64_t> exitMonotonicUsec;
    std::optional<std::uint64_t> cpuUsageNsec;
    // The unit's cgroup figures, where the sandbox read them itself as the unit was
    // stopping, before its stop-post helper wrote its record.
    std::optional<CgroupStats> cgroupStats;
    // The end was told by the kernel, as the run's interpreter was reaped, before systemd saw
    // the unit stop.
    bool toldByKernel = false;
};

struct SandboxCallbacks
{
    // The unit's main process is running.
    std::function<void()> onStarted;
    // Exactly once per start(), also when the unit never started.
    std::function<void(UnitOutcome)> onExited;
    // After onExited, once systemd is done with the unit: nothing it starts for the unit
    // opens the run's files any more. Optional.
    std::function<void()> onUnitGone;
};

// The one interface between the run lifecycle and systemd.
class Sandbox
{
  public:
    Sandbox() = default;
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    Sandbox(Sandbox&&) = delete;
    Sandbox& operator=(Sandbox&&) = delete;
    virtual ~Sandbox() = default;

    virtual std::string unitName(const std::string& runId) const = 0;
    virtual void start(SandboxRun run, SandboxCallbacks callbacks) = 0;
    // Starts a warm unit of `environment`, sandboxed as any run, that a later start() with
    // this id and environment hands its run to, skipping the unit's and Python's start-up
    // and the environment's common imports. onExited if it ends before.
    // The unit runs in `slice`'s slice: only a run of that tenant may take it.
    virtual void prepare(const std::string& runId, const std::string& environment,
                         const TenantSlice& slice, SandboxCallbacks callbacks) = 0;
    // Follows a run an earlier server started, to its end, as start() would have; a run that
    // has ended already gets onExited at once.
    virtual void follow(const std::string& runId, SandboxCallbacks callbacks) = 0;
    // The runs whose units systemd has loaded but nobody follows: left by a server that is
    // gone, or started by hand.
    virtual std::vector<std::string> strayRuns() = 0;
    // Ends the run's whole unit at once; harmless when it has already ended.
    virtual void kill(const std::string& runId) = 0;
    // Deletes the files of a run that has ended; the run is forgotten.
    virtual void release(const std::string& runId) = 0;
    virtual bool reachable() const = 0;
    // Each sandboxing layer and whether the host enforces it.
    virtual std::map<std::string, bool> layers() const = 0;
    // The environments runs may choose, as the privileged side probed them.
    virtual std::vector<Environment> environments() const = 0;
};

} // namespace pyrunner::core
