#pragma once

#include "broker/environments/env_manager.hpp"
#include "broker/refusal.hpp"
#include "broker/run_registry.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "common/run_files.hpp"
#include "common/sandbox.hpp"
#include "common/sandbox_policy.hpp"

#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace pyrunner::systemd
{

struct BrokerSettings
{
    // The only user whose calls are served: the HTTP front's.
    uid_t frontUid = 0;
    // The group that may read the runs' files.
    gid_t frontGid = 0;
    core::SandboxPolicy policy;
};

// What the broker does with the runs the front asks for: admits each, starts its unit (or
// hands it to its warm unit, or has it wait for its environment), follows, kills and releases
// it, and tells `Events` when it starts and ends. It knows no bus: BrokerService checks who
// calls and answers the call. On the bus thread only.
class BrokerRuns
{
  public:
    struct Events
    {
        std::function<void(const std::string& id)> started;
        std::function<void(const std::string& id, const core::UnitOutcome& outcome)> exited;
    };

    BrokerRuns(SystemdSandbox& sandbox, const core::RunFiles& files,
               EnvironmentManager& environments, const BrokerSettings& settings, Events events);

    // StartRun: RunStarted and RunExited follow unless it is refused.
    std::optional<Refusal> start(core::SandboxRun run);
    // PrepareRun: a warm unit in `slice`'s slice for the run id the front will submit next,
    // prepared by the connection `owner`. RunExited comes if it ends before.
    std::optional<Refusal> prepare(const std::string& id, const std::string& environment,
                                   const core::TenantSlice& slice, const std::string& owner);
    // FollowRun: "following" (RunStarted and RunExited will come), "ended" (RunExited has been
    // sent) or "unknown": no unit and no record of one; a stale directory is removed.
    std::variant<std::string, Refusal> follow(const std::string& id);
    // Run units systemd has loaded that this broker does not follow.
    std::vector<std::string> strays();
    std::optional<Refusal> kill(const std::string& id);
    std::optional<Refusal> release(const std::string& id);
    // A connection left the bus: the warm units it prepared and never used are killed, and
    // their files go with them, since no front will release them.
    void ownerGone(const std::string& owner);

  private:
    // Failed when the tenant's caps could not be set on its slice: no unit of the tenant
    // starts without them.
    std::optional<Refusal> capSlice(const core::TenantSlice& slice);
    // The run's directory, with its code and stdin; Failed if it cannot be made (it is there
    // already: a run's directory is never reused).
    std::optional<Refusal> createFiles(core::SandboxRun& run);
    // Starts the run's unit once its requirements' environment is there, or ends the run
    // with the build's error.
    void startAfterBuild(core::SandboxRun run);
    core::SandboxCallbacks callbacksFor(const std::string& id);
    void unitExited(const std::string& id, const core::UnitOutcome& outcome);
    // Where the sandbox read the unit's cgroup itself, puts its figures where the front reads
    // them, ahead of the stop-post helper's record.
    void writeStopRecord(const std::string& id, const core::UnitOutcome& outcome);

    SystemdSandbox& sandbox_;
    const core::RunFiles& files_;
    EnvironmentManager& environments_;
    const BrokerSettings settings_;
    const Events events_;
    RunRegistry registry_;
};

} // namespace pyrunner::systemd
