#pragma once

#include "common/sandbox.hpp"
#include "daemon/bus_thread.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sdbus
{
class IConnection;
class IProxy;
class Message;
} // namespace sdbus

namespace pyrunner::systemd
{

// The HTTP front's sandbox: asks the privileged broker for each run over the system bus.
// The front holds no right to manage units; the broker decides everything about them.
// When the broker goes away (a restart, a crash), the runs in flight stay waiting: the
// front is unreachable meanwhile, and once a broker owns the name again every run is
// followed again from it, and a start it never got is sent again.
class BrokerClient final : public core::Sandbox
{
  public:
    // Connects to the system bus; throws std::runtime_error with a sentence if it cannot.
    // `onConnectionLost` runs once, on the bus thread, if the front's own bus connection
    // drops: the runs can no longer be followed from this process. `onBrokerBack` runs on the
    // bus thread each time a broker takes the name after the front started without one or
    // lost it. `onEnvironmentsChanged` runs on the bus thread each time the broker's
    // environments were fetched anew after it started.
    explicit BrokerClient(std::function<void()> onConnectionLost,
                          std::function<void()> onBrokerBack = {},
                          std::function<void()> onEnvironmentsChanged = {});
    ~BrokerClient() override;
    BrokerClient(const BrokerClient&) = delete;
    BrokerClient& operator=(const BrokerClient&) = delete;
    BrokerClient(BrokerClient&&) = delete;
    BrokerClient& operator=(BrokerClient&&) = delete;

    std::string unitName(const std::string& runId) const override;
    void start(core::SandboxRun run, core::SandboxCallbacks callbacks) override;
    void prepare(const std::string& runId, const std::string& environment,
                 core::SandboxCallbacks callbacks) override;
    void follow(const std::string& runId, core::SandboxCallbacks callbacks) override;
    std::vector<std::string> strayRuns() override;
    void kill(const std::string& runId) override;
    void release(const std::string& runId) override;
    bool reachable() const override;
    std::map<std::string, bool> layers() const override;
    std::vector<core::Environment> environments() const override;

    // Stops the bus thread; no callback runs after it returns.
    void stop();

  private:
    void sendStart(const core::SandboxRun& run);
    void followOnBus(const std::string& runId);
    void onRunStarted(sdbus::Message& message);
    void onRunExited(sdbus::Message& message);
    void onBrokerOwner(sdbus::Message& message);
    void brokerArrived();
    // The answer to the broker's method `method`, which takes no argument; nothing, and a
    // warning that the broker could not be asked `question`, if the call fails.
    template <typename Answer> std::optional<Answer> ask(const char* method, const char* question);
    void fetchLayers();
    void fetchEnvironments();
    void environmentsChanged();
    void endRun(const std::string& runId, core::UnitOutcome outcome);
    void callBroker(const char* method, const std::string& runId);
    void abandonAll();

    const std::function<void()> onConnectionLost_;
    const std::function<void()> onBrokerBack_;
    const std::function<void()> onEnvironmentsChanged_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> broker_;
    std::vector<std::unique_ptr<void, std::function<void(void*)>>> matches_;
    // Keyed by run id; touched only on the bus thread.
    std::map<std::string, core::SandboxCallbacks> runs_;
    // Starts the broker has not acknowledged, kept to send again if it went away first.
    std::map<std::string, core::SandboxRun> unconfirmed_;
    // Warm units prepared and not yet given a run. A new broker cannot hand them one (they
    // end when their broker goes), so they are reported ended when it arrives.
    std::set<std::string> idle_;
    // Kills and releases asked while no broker was there: sent when one arrives.
    std::vector<std::pair<const char*, std::string>> deferred_;
    std::atomic<bool> brokerUp_{false};
    // The broker's start-up probe, asked for each time a broker arrives; guards
    // environments_ too.
    mutable std::mutex layersMutex_;
    std::map<std::string, bool> layers_;
    // The broker's environments, asked for when it arrives and whenever it says they changed.
    std::vector<core::Environment> environments_;
    std::unique_ptr<BusThread> bus_;
};

} // namespace pyrunner::systemd
