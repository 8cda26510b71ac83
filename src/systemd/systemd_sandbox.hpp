#pragma once

#include "core/fd.hpp"
#include "core/sandbox.hpp"
#include "systemd/unit_properties.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sdbus
{
class IConnection;
class IProxy;
class Message;
} // namespace sdbus

namespace pyrunner::systemd
{

// Runs each submission as a transient service of the system manager. One thread owns
// the bus connection: every D-Bus call and signal is handled there, and other threads
// only post work to it, since sd-bus connections are not thread-safe.
class SystemdSandbox final : public core::Sandbox
{
  public:
    // Connects to the system bus and subscribes to the manager's signals; throws
    // std::runtime_error with a sentence if systemd cannot be reached.
    explicit SystemdSandbox(UnitSettings settings);
    ~SystemdSandbox() override;
    SystemdSandbox(const SystemdSandbox&) = delete;
    SystemdSandbox& operator=(const SystemdSandbox&) = delete;
    SystemdSandbox(SystemdSandbox&&) = delete;
    SystemdSandbox& operator=(SystemdSandbox&&) = delete;

    std::string unitName(const std::string& runId) const override;
    void start(core::SandboxRun run, core::SandboxCallbacks callbacks) override;
    void kill(const std::string& runId) override;
    bool reachable() const override;

    // Stops the bus thread; no callback runs after it returns.
    void stop();

  private:
    struct Tracker
    {
        std::string unitName;
        core::SandboxCallbacks callbacks;
        bool jobDone = false;
        std::string jobResult;
    };

    void post(std::function<void()> task);
    void loop();
    void runPostedTasks();
    // After the connection is lost: ends every run in flight and every posted start.
    void abandonAll();

    void startOnBus(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    void killOnBus(const std::string& unitName);
    void onJobRemoved(sdbus::Message& message);
    void onPropertiesChanged(sdbus::Message& message);
    void finishIfInactive(const std::string& path);
    void finish(const std::string& path, core::UnitOutcome outcome);
    core::UnitOutcome readOutcome(const std::string& path);

    const UnitSettings settings_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::vector<std::unique_ptr<void, std::function<void(void*)>>> matches_;
    // Keyed by the unit's object path; touched only on the bus thread.
    std::map<std::string, Tracker> trackers_;

    std::mutex tasksMutex_;
    std::deque<std::function<void()>> tasks_;
    bool connectionLost_ = false;
    // Serialises the tasks run outside the bus thread once the connection is lost.
    std::mutex orphanMutex_;
    core::UniqueFd wake_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> reachable_{false};
    std::thread thread_;
};

} // namespace pyrunner::systemd
