#pragma once

#include "broker/environments/env_manager.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "broker/units/layer_probe.hpp"
#include "common/run_files.hpp"
#include "common/sandbox_policy.hpp"
#include "protocol/broker_api.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sdbus
{
class IObject;
template <typename... Results> class Result;
} // namespace sdbus

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

// The privileged broker's D-Bus object. It owns the decision of what a run unit is: the
// front sends a typed run, never a property, a path or a command. Lives on the sandbox's
// bus connection, so its handlers and the sandbox's callbacks share one thread.
class BrokerService
{
  public:
    // Registers the object; the bus name is taken once the layer probe is done. Throws
    // sdbus::Error if it cannot.
    BrokerService(SystemdSandbox& sandbox, const core::RunFiles& files,
                  EnvironmentManager& environments, const BrokerSettings& settings);
    ~BrokerService();
    BrokerService(const BrokerService&) = delete;
    BrokerService& operator=(const BrokerService&) = delete;
    BrokerService(BrokerService&&) = delete;
    BrokerService& operator=(BrokerService&&) = delete;

    // Runs the layer probe as a real run unit, then the environments' probes, then takes the
    // bus name (or, if it cannot,
    // says so and asks the process to stop); `done` gets the report on the bus thread.
    void probeLayers(std::function<void(const LayerReport&)> done);
    // Tells the fronts to ask for the environments again.
    void emitEnvironmentsChanged();

  private:
    void startRun(const std::string& id, const std::vector<std::uint8_t>& code,
                  const std::vector<std::uint8_t>& stdinData, const std::vector<std::string>& args,
                  const broker::WireLimits& limits, const std::string& environment,
                  const std::vector<std::string>& requirements);
    // Starts the run's unit once its requirements' environment is there, or ends the run
    // with the build's error.
    void startWithRequirements(core::SandboxRun run);
    void takeBusName(const std::function<void(const LayerReport&)>& done);
    std::vector<broker::WireEnvironment> environmentList();
    // Root only (the operator): builds an environment, answering when it is done.
    void createEnvironment(sdbus::Result<std::string>&& result, const std::string& name,
                           const std::string& requirements, const std::string& findLinks);
    // Starts a warm unit for the run id the front will submit next: StartRun with that id
    // hands the run to it. RunExited comes if it ends before.
    void prepareRun(const std::string& id, const std::string& environment);
    // "following" (RunStarted and RunExited will come), "ended" (RunExited has been sent)
    // or "unknown": no unit and no record of one; a stale directory is removed.
    std::string followRun(const std::string& id);
    // Run units systemd has loaded that this broker does not follow.
    std::vector<std::string> strayRuns();
    void killRun(const std::string& id);
    void releaseRun(const std::string& id);
    core::SandboxCallbacks callbacksFor(const std::string& id);
    // A journal entry about one run as the broker sees it.
    void logRun(int priority, const std::string& id, std::string_view status, std::string message,
                std::vector<std::pair<std::string_view, std::string>> extra = {}) const;
    // Where the sandbox read the unit's cgroup itself, puts its figures where the front reads
    // them, ahead of the stop-post helper's record.
    void writeStopRecord(const std::string& id, const core::UnitOutcome& outcome);
    void emitExited(const std::string& id, const core::UnitOutcome& outcome);
    // A connection left the bus: the warm units it prepared and never used are killed, and
    // their files go with them, since no front will release them.
    void connectionGone(const std::string& uniqueName);
    // The uid the bus says the caller of the method being handled connected as.
    std::optional<std::uint32_t> callerUid();
    // Throws AccessDenied unless the message being handled comes from the front's user.
    void requireFront();

    SystemdSandbox& sandbox_;
    const core::RunFiles& files_;
    EnvironmentManager& environments_;
    const BrokerSettings settings_;
    std::unique_ptr<sdbus::IObject> object_;
    std::unique_ptr<sdbus::IProxy> busDaemon_;
    // Each caller's uid by its unique name on the bus; touched only on the bus thread.
    std::map<std::string, std::uint32_t> callerUids_;
    // Runs whose unit has not ended; touched only on the bus thread.
    std::set<std::string> active_;
    // Runs answered whose unit systemd is still stopping, and whether the front has released
    // them meanwhile: systemd may yet open their files for the stop-post helper, so they go
    // with the unit. Touched only on the bus thread.
    std::map<std::string, bool> ending_;
    // Warm units prepared and not yet given a run, by id, with the unique bus name of the
    // front that prepared them; touched only on the bus thread.
    std::map<std::string, std::string> idleWarm_;
    // Units killed because the front that prepared them left; their files go when they end.
    std::set<std::string> abandoned_;
    // NameOwnerChanged of every connection that leaves the bus.
    std::unique_ptr<void, std::function<void(void*)>> departures_;
    // Runs waiting for their requirements' environment; a kill ends them at once.
    std::set<std::string> waitingForEnvironment_;
    // What the start-up probe found; touched only on the bus thread.
    LayerReport layers_;
};

} // namespace pyrunner::systemd
