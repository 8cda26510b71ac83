#include "broker/sandbox/pidfd.hpp"

#include <gtest/gtest.h>

#include <array>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

// A child that ends when told (by closing the pipe) with exit status 7.
struct Child
{
    Child()
    {
        EXPECT_EQ(::pipe(go.data()), 0);
        pid = ::fork();
        if (pid == 0)
        {
            ::close(go[1]);
            char byte = 0;
            [[maybe_unused]] const auto got = ::read(go[0], &byte, 1);
            ::_exit(7);
        }
        ::close(go[0]);
    }
    void end()
    {
        if (go[1] >= 0)
        {
            ::close(go[1]);
            go[1] = -1;
        }
    }

    std::array<int, 2> go{};
    pid_t pid = 0;
};

bool kernelTells()
{
    const auto self = openProcess(::getpid());
    return self && liveProcess(self.get());
}

class PidfdOfAChild : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (!kernelTells())
        {
            GTEST_SKIP() << "PIDFD_GET_INFO needs Linux 6.13";
        }
        ASSERT_TRUE(process);
    }
    void TearDown() override
    {
        child.end();
        int status = 0;
        ::waitpid(child.pid, &status, 0);
    }

    Child child;
    const core::UniqueFd process = openProcess(child.pid);
};

TEST_F(PidfdOfAChild, TellsALiveProcesssParentAndUser)
{
    const auto live = liveProcess(process.get());
    ASSERT_TRUE(live);
    EXPECT_EQ(live->parent, ::getpid());
    EXPECT_EQ(live->uid, ::getuid());
    EXPECT_FALSE(processExit(process.get()));
}

TEST_F(PidfdOfAChild, TellsHowAProcessEndedOnceReaped)
{
    child.end();
    // Ended but not reaped: readable, not hung up, and no exit status yet.
    pollfd ended{process.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&ended, 1, 5000), 1);
    EXPECT_EQ(ended.revents & POLLHUP, 0);
    EXPECT_FALSE(processExit(process.get()));
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    pollfd reaped{process.get(), 0, 0};
    ASSERT_EQ(::poll(&reaped, 1, 5000), 1);
    EXPECT_NE(reaped.revents & POLLHUP, 0);
    const auto exit = processExit(process.get());
    if (!exit)
    {
        GTEST_SKIP() << "PIDFD_INFO_EXIT needs Linux 6.15";
    }
    EXPECT_TRUE(WIFEXITED(exit->waitStatus));
    EXPECT_EQ(WEXITSTATUS(exit->waitStatus), 7);
    EXPECT_NE(exit->cgroupId, 0U);
    EXPECT_FALSE(liveProcess(process.get()));
}

TEST(Pidfd, OpensNoProcessThatIsNotThere)
{
    Child child;
    child.end();
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    EXPECT_FALSE(openProcess(child.pid));
}

} // namespace
} // namespace pyrunner::systemd
