#pragma once

#include "core/sandbox.hpp"
#include "systemd/bus_thread.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
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
class BrokerClient final : public core::Sandbox
{
  public:
    // Connects to the system bus; throws std::runtime_error with a sentence if it cannot.
    BrokerClient();
    ~BrokerClient() override;
    BrokerClient(const BrokerClient&) = delete;
    BrokerClient& operator=(const BrokerClient&) = delete;
    BrokerClient(BrokerClient&&) = delete;
    BrokerClient& operator=(BrokerClient&&) = delete;

    std::string unitName(const std::string& runId) const override;
    void start(core::SandboxRun run, core::SandboxCallbacks callbacks) override;
    void kill(const std::string& runId) override;
    void release(const std::string& runId) override;
    bool reachable() const override;
    std::map<std::string, bool> layers() const override { return layers_; }

    // Stops the bus thread; no callback runs after it returns.
    void stop();

  private:
    void startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    void onRunStarted(sdbus::Message& message);
    void onRunExited(sdbus::Message& message);
    void callBroker(const char* method, const std::string& runId);
    void abandonAll();

    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> broker_;
    std::vector<std::unique_ptr<void, std::function<void(void*)>>> matches_;
    // Keyed by run id; touched only on the bus thread.
    std::map<std::string, core::SandboxCallbacks> runs_;
    // The broker's start-up probe, asked for once.
    std::map<std::string, bool> layers_;
    std::unique_ptr<BusThread> bus_;
};

} // namespace pyrunner::systemd
