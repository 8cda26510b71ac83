#include "core/fd.hpp"
#include "systemd/daemon.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

using namespace std::chrono_literals;

// A service whose load the test sets.
class LoadOnly final : public core::RunService
{
  public:
    std::variant<core::Submitted, core::SubmitError> submit(core::RunRequest /*request*/,
                                                            core::Completion /*onFinal*/) override
    {
        return core::SubmitError::Unavailable;
    }
    std::optional<core::RunView> find(const std::string& /*id*/) const override { return {}; }
    std::optional<std::string> output(const std::string& /*id*/,
                                      core::Stream /*stream*/) const override
    {
        return {};
    }
    std::optional<core::RunView> cancel(const std::string& /*id*/) override { return {}; }
    core::Health health() const override { return load; }
    std::vector<core::Environment> environments() const override { return {}; }
    unsigned retryAfterSeconds() const override { return 1; }

    core::Health load;
};

// Plays systemd's end of NOTIFY_SOCKET: what the service sends arrives here.
class NotifySocket
{
  public:
    NotifySocket()
        : path_(std::filesystem::temp_directory_path() /
                ("pyrunner-notify-" + std::to_string(::getpid()))),
          fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        path_.string().copy(address.sun_path, sizeof address.sun_path - 1);
        std::filesystem::remove(path_);
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    ~NotifySocket()
    {
        ::unsetenv("NOTIFY_SOCKET");
        std::filesystem::remove(path_);
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    NotifySocket(NotifySocket&&) = delete;
    NotifySocket& operator=(NotifySocket&&) = delete;

    // Every message received so far.
    std::vector<std::string> received()
    {
        std::vector<std::string> messages;
        std::array<char, 4096> buffer{};
        ssize_t length = 0;
        while ((length = ::recv(fd_.get(), buffer.data(), buffer.size(), 0)) > 0)
        {
            messages.emplace_back(buffer.data(), static_cast<std::size_t>(length));
        }
        return messages;
    }

  private:
    std::filesystem::path path_;
    core::UniqueFd fd_;
};

TEST(ServiceStatus, SaysReadyWithTheLoadThenEachChangeOnce)
{
    NotifySocket systemd;
    LoadOnly service;
    ServiceStatus status("Serving on 127.0.0.1:8080");
    status.follow(service);
    status.ready();
    const core::Run run;
    service.load.running = 1;
    status.accepted(run, "");
    status.started(run, "");
    service.load.running = 2;
    service.load.queued = 3;
    status.accepted(run, "");
    status.stopping();
    EXPECT_EQ(
        systemd.received(),
        (std::vector<std::string>{"READY=1\nSTATUS=Serving on 127.0.0.1:8080: 0 running, 0 queued",
                                  "STATUS=Serving on 127.0.0.1:8080: 1 running, 0 queued",
                                  "STATUS=Serving on 127.0.0.1:8080: 2 running, 3 queued",
                                  "STOPPING=1\nSTATUS=Stopping; the runs go on under systemd"}));
}

TEST(ServiceStatus, SaysNothingBeforeItFollowsAService)
{
    NotifySocket systemd;
    ServiceStatus status("Serving");
    status.finished(core::Run{}, "");
    EXPECT_TRUE(systemd.received().empty());
}

TEST(Watchdog, ProvesLivenessThreeTimesPerWatchdogInterval)
{
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    const Watchdog watchdog;
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ASSERT_TRUE(watchdog.period());
    EXPECT_EQ(*watchdog.period(), 10s);
}

TEST(Watchdog, IsOffWithoutWatchdogSec)
{
    ::unsetenv("WATCHDOG_USEC");
    EXPECT_FALSE(Watchdog().period());
}

TEST(Watchdog, PingsSystemd)
{
    NotifySocket systemd;
    Watchdog::ping();
    EXPECT_EQ(systemd.received(), std::vector<std::string>{"WATCHDOG=1"});
}

TEST(StopSignals, WaitForTimesOutWithoutASignal)
{
    const StopSignals signals;
    EXPECT_FALSE(signals.waitFor(10ms));
}

TEST(StopSignals, WaitForSeesAPendingStopSignal)
{
    const StopSignals signals;
    ::raise(SIGTERM);
    EXPECT_TRUE(signals.waitFor(10s));
}

} // namespace
} // namespace pyrunner::systemd
