#pragma once

#include "broker/broker_runs.hpp"
#include "broker/caller_check.hpp"
#include "broker/environments/env_manager.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "broker/units/layer_probe.hpp"
#include "common/run_files.hpp"
#include "protocol/broker1_adaptor.hpp"
#include "protocol/broker_api.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pyrunner::systemd
{

// The privileged broker's D-Bus object, org.pyrunner.Broker1 as generated from its XML: it
// checks who calls, hands the call to BrokerRuns (or the environments), and answers, with the
// broker's own error names when it refuses. Lives on the sandbox's bus connection, so its
// handlers and the sandbox's callbacks share one thread.
class BrokerService final : public sdbus::AdaptorInterfaces<org::pyrunner::Broker1_adaptor>
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
    // bus name (or, if it cannot, says so and asks the process to stop); `done` gets the
    // report on the bus thread.
    void probeLayers(std::function<void(const LayerReport&)> done);

  private:
    // org.pyrunner.Broker1's methods (the XML says what each does).
    void StartRun(const std::string& id, const std::vector<std::uint8_t>& code,
                  const std::vector<std::uint8_t>& stdinData, const std::vector<std::string>& args,
                  const broker::WireLimits& limits, const std::string& environment,
                  const std::vector<std::string>& requirements,
                  const broker::WireSlice& slice) override;
    void StartRunWithFiles(const std::string& id, const std::vector<std::uint8_t>& code,
                           const std::vector<std::uint8_t>& stdinData,
                           const std::vector<std::string>& args, const broker::WireLimits& limits,
                           const std::string& environment,
                           const std::vector<std::string>& requirements,
                           const broker::WireSlice& slice, const std::string& entry,
                           const sdbus::UnixFd& files) override;
    // Both start methods': checks the caller, starts the run, logs what became of it.
    void start(core::SandboxRun run);
    void KillRun(const std::string& id) override;
    void ReleaseRun(const std::string& id) override;
    void PrepareRun(const std::string& id, const std::string& environment,
                    const broker::WireSlice& slice) override;
    std::string FollowRun(const std::string& id) override;
    std::vector<std::string> StrayRuns() override;
    LayerReport Layers() override;
    std::vector<broker::WireEnvironment> Environments() override;
    void CreateEnvironment(sdbus::Result<std::string>&& result, std::string name,
                           std::string requirements, std::string findLinks) override;

    // What BrokerRuns tells of a run, as the interface's signals.
    BrokerRuns::Events runEvents();
    // A connection left the bus: its uid is forgotten, and the warm units it left unused.
    void connectionGone(const std::string& uniqueName);
    // The unique bus name of the caller of the method being handled.
    std::string caller();
    // Refuses the call (NotAllowed) unless it comes from the front's user.
    void requireFront();
    void takeBusName(const std::function<void(const LayerReport&)>& done);

    SystemdSandbox& sandbox_;
    const core::RunFiles& files_;
    EnvironmentManager& environments_;
    const BrokerSettings settings_;
    CallerCheck callers_;
    BrokerRuns runs_;
    // NameOwnerChanged of every connection that leaves the bus.
    std::unique_ptr<void, std::function<void(void*)>> departures_;
    // What the start-up probe found; touched only on the bus thread.
    LayerReport layers_;
};

} // namespace pyrunner::systemd
