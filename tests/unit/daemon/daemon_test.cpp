#include "daemon/daemon.hpp"
#include "support/notify_socket.hpp"

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
using test::NotifySocket;

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
