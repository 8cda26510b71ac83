#pragma once

#include "common/sandbox.hpp"
#include "daemon/bus_thread.hpp"
#include "front/broker_link/followed_runs.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sdbus
{
class IConnection;
class Message;
} // namespace sdbus

namespace pyrunner::systemd
{

class BrokerProxy;

// The HTTP front's sandbox: asks the privileged broker for each run over the system bus.
// The front holds no right to manage units; the broker decides everything about them.
// When the broker goes away (a restart, a crash), the runs in flight stay waiting: the
// front is unreachable meanwhile, and once a broker owns the name again every run is
// followed again from it, and a start it never got is sent again (FollowedRuns says which).
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
                 const core::TenantSlice& slice, core::SandboxCallbacks callbacks) override;
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
    // `unanswered`: how often a call about the run has gone unanswered so far.
    void sendStart(const core::SandboxRun& run, unsigned unanswered = 0);
    void followOnBus(const std::string& runId, unsigned unanswered = 0);
    // A call about the run went unanswered: asks the broker what became of it, or ends the run
    // once it has not answered too often.
    void askAgain(const std::string& runId, unsigned unanswered);
    // The run's end is expected `within` from now; past it, the broker is asked about it.
    void expectEnd(const std::string& runId, std::chrono::seconds within);
    // Sets the timer to the earliest end expected, and watches it.
    void armDueTimer();
    void onEndsDue();
    // KillRun or ReleaseRun, kept for the next broker if there is none.
    void sendRequest(FollowedRuns::Request request, const std::string& runId);
    void onRunStarted(const std::string& runId);
    void onBrokerOwner(sdbus::Message& message);
    void brokerArrived();
    void fetchLayers();
    void fetchEnvironments();
    void environmentsChanged();
    void endRun(const std::string& runId, core::UnitOutcome outcome);
    void abandonAll();

    const std::function<void()> onConnectionLost_;
    const std::function<void()> onBrokerBack_;
    const std::function<void()> onEnvironmentsChanged_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<BrokerProxy> broker_;
    // NameOwnerChanged of the broker's name.
    std::unique_ptr<void, std::function<void(void*)>> brokerOwner_;
    // Touched only on the bus thread.
    FollowedRuns runs_;
    std::atomic<bool> brokerUp_{false};
    // The broker's start-up probe, asked for each time a broker arrives; guards
    // environments_ too.
    mutable std::mutex layersMutex_;
    std::map<std::string, bool> layers_;
    // The broker's environments, asked for when it arrives and whenever it says they changed.
    std::vector<core::Environment> environments_;
    // Expires when the earliest expected end is overdue.
    core::UniqueFd dueTimer_;
    std::unique_ptr<BusThread> bus_;
    // After bus_, so that it goes first: it is the bus thread's.
    BusThread::Watch dueWatch_;
};

} // namespace pyrunner::systemd
