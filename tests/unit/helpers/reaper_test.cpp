#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace
{

struct Ended
{
    pid_t reaper = 0;
    int status = 0;
    // What the program wrote to its stdout.
    std::string output;
};

// Runs the reaper over `sh -c script` and waits for it.
Ended reap(const std::string& script)
{
    std::array<int, 2> pipe{};
    EXPECT_EQ(::pipe(pipe.data()), 0);
    const pid_t reaper = ::fork();
    if (reaper == 0)
    {
        // With no signal blocked, as systemd starts a unit's process: StopSignals' tests in
        // this binary leave SIGTERM blocked.
        sigset_t none{};
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(pipe[1], STDOUT_FILENO);
        ::execl(PYRUNNER_REAPER_BINARY, PYRUNNER_REAPER_BINARY, "/bin/sh", "-c", script.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(1);
    }
    ::close(pipe[1]);
    Ended ended;
    ended.reaper = reaper;
    std::array<char, 256> buffer{};
    ssize_t got = 0;
    while ((got = ::read(pipe[0], buffer.data(), buffer.size())) > 0)
    {
        ended.output.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(pipe[0]);
    EXPECT_EQ(::waitpid(reaper, &ended.status, 0), reaper);
    return ended;
}

TEST(Reaper, EndsAsItsProgramExited)
{
    const auto ended = reap("exit 7");
    ASSERT_TRUE(WIFEXITED(ended.status));
    EXPECT_EQ(WEXITSTATUS(ended.status), 7);
}

TEST(Reaper, EndsAsItsProgramWasKilled)
{
    const auto ended = reap("kill -TERM $$");
    ASSERT_TRUE(WIFSIGNALED(ended.status));
    EXPECT_EQ(WTERMSIG(ended.status), SIGTERM);
}

TEST(Reaper, IsItsProgramsParent)
{
    const auto ended = reap("echo $PPID");
    EXPECT_EQ(ended.output, std::to_string(ended.reaper) + "\n");
}

TEST(Reaper, TakesItsProgramAlongWhenKilled)
{
    // Orphans come here instead of to PID 1, to be waited for.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    const auto ended = reap("echo $$; kill -KILL $PPID; exec sleep 30");
    ASSERT_TRUE(WIFSIGNALED(ended.status));
    const auto program = static_cast<pid_t>(std::stoi(ended.output));
    int status = 0;
    ASSERT_EQ(::waitpid(program, &status, 0), program);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(Reaper, SaysWhenItCannotRunItsProgram)
{
    const auto ended = reap("exec /nonexistent/program");
    ASSERT_TRUE(WIFEXITED(ended.status));
    EXPECT_EQ(WEXITSTATUS(ended.status), 127);
}

} // namespace
