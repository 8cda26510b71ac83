#include "front/runs/verdict.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>

namespace pyrunner::core
{
namespace
{

Evidence exited(int status)
{
    Evidence e;
    e.unit.started = true;
    e.unit.result = status == 0 ? "success" : "exit-code";
    e.unit.execMainCode = CLD_EXITED;
    e.unit.execMainStatus = status;
    return e;
}

Evidence killed(int signal, const std::string& result = "signal")
{
    Evidence e;
    e.unit.started = true;
    e.unit.result = result;
    e.unit.execMainCode = CLD_KILLED;
    e.unit.execMainStatus = signal;
    return e;
}

TEST(VerdictFromUnit, CleanExitSucceeds)
{
    const auto v = decideVerdict(exited(0));
    EXPECT_EQ(v.status, RunStatus::Succeeded);
    EXPECT_EQ(v.exitCode, 0);
    EXPECT_FALSE(v.signal);
    EXPECT_FALSE(v.error);
}

TEST(VerdictFromUnit, FilesCutShortMakeASuccessOutputLimitExceededAndNothingElse)
{
    auto clean = exited(0);
    clean.filesTruncated = true;
    EXPECT_EQ(decideVerdict(clean).status, RunStatus::OutputLimitExceeded);
    auto failed = exited(2);
    failed.filesTruncated = true;
    EXPECT_EQ(decideVerdict(failed).status, RunStatus::Failed);
}

TEST(VerdictFromUnit, NonZeroExitFails)
{
    const auto v = decideVerdict(exited(3));
    EXPECT_EQ(v.status, RunStatus::Failed);
    EXPECT_EQ(v.exitCode, 3);
}

TEST(VerdictFromUnit, OomKillIsOutOfMemory)
{
    const auto v = decideVerdict(killed(SIGKILL, "oom-kill"));
    EXPECT_EQ(v.status, RunStatus::OutOfMemory);
    EXPECT_EQ(v.signal, "SIGKILL");
    EXPECT_FALSE(v.exitCode);
}

TEST(VerdictFromUnit, CgroupV1OomCountIsOutOfMemoryThoughSystemdSaysSignal)
{
    auto e = killed(SIGKILL);
    e.cgroup.oomKills = 1;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::OutOfMemory);
}

TEST(VerdictFromUnit, SelfInflictedSigkillFails)
{
    auto e = killed(SIGKILL);
    e.cgroup.oomKills = 0;
    e.cgroup.cpuUsageUsec = 1000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Failed);
}

TEST(VerdictFromUnit, RuntimeTimeoutIsTimedOut)
{
    EXPECT_EQ(decideVerdict(killed(SIGKILL, "timeout")).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, SigxcpuAtTheCpuLimitIsTimedOut)
{
    auto e = killed(SIGXCPU);
    e.limits.cpuTimeS = 1;
    e.cgroup.cpuUsageUsec = 1000000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, SigxcpuUnderContentionWithTheCgroupFigureShortOfTheLimitIsTimedOut)
{
    auto e = killed(SIGXCPU);
    e.limits.cpuTimeS = 1;
    e.cgroup.cpuUsageUsec = 700000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, SigxcpuWithoutACpuFigureIsTakenAtItsWord)
{
    EXPECT_EQ(decideVerdict(killed(SIGXCPU)).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, SelfSentSigxcpuFarBelowTheLimitFails)
{
    auto e = killed(SIGXCPU);
    e.limits.cpuTimeS = 10;
    e.cgroup.cpuUsageUsec = 70000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Failed);
}

TEST(VerdictFromUnit, CoreDumpedSigxcpuIsTimedOut)
{
    auto e = killed(SIGXCPU);
    e.unit.execMainCode = CLD_DUMPED;
    e.limits.cpuTimeS = 1;
    e.cgroup.cpuUsageUsec = 1000000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, SlowStopAfterACleanExitIsNotATimeout)
{
    auto e = exited(0);
    e.unit.result = "timeout";
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Succeeded);
}

TEST(VerdictFromUnit, SigkillAtTheHardCpuLimitIsTimedOut)
{
    auto e = killed(SIGKILL);
    e.limits.cpuTimeS = 2;
    e.cgroup.cpuUsageUsec = 3000000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::TimedOut);
}

TEST(VerdictFromUnit, OutputPastTheLimitWinsOverTheExitCode)
{
    auto e = exited(1);
    e.limits.outputBytes = 1000;
    e.stdoutBytes = 1001;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::OutputLimitExceeded);
}

TEST(VerdictFromUnit, OutputExactlyAtTheLimitIsNotExceeded)
{
    auto e = exited(0);
    e.limits.outputBytes = 1000;
    e.stdoutBytes = 1000;
    e.stderrBytes = 1000;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Succeeded);
}

TEST(VerdictFromUnit, StderrPastTheLimitIsExceeded)
{
    auto e = exited(0);
    e.limits.outputBytes = 10;
    e.stderrBytes = 11;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::OutputLimitExceeded);
}

TEST(VerdictFromUnit, CancelWinsOverEverything)
{
    auto e = killed(SIGKILL, "oom-kill");
    e.cancelRequested = true;
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Cancelled);
}

TEST(VerdictFromUnit, UnitThatNeverStartedIsAnErrorWithASentence)
{
    Evidence e;
    e.unit.error = "systemd refused the run's unit: nope";
    const auto v = decideVerdict(e);
    EXPECT_EQ(v.status, RunStatus::Error);
    EXPECT_EQ(v.error, "systemd refused the run's unit: nope");
}

TEST(VerdictFromUnit, UnreadableEndIsAnError)
{
    auto e = exited(0);
    e.unit.error = "the server could not read how the run's unit ended: gone";
    EXPECT_EQ(decideVerdict(e).status, RunStatus::Error);
}

TEST(VerdictFromUnit, DurationComesFromTheMainProcessTimestamps)
{
    auto e = exited(0);
    e.unit.startMonotonicUsec = 1000000;
    e.unit.exitMonotonicUsec = 1012500;
    EXPECT_DOUBLE_EQ(*decideVerdict(e).durationMs, 12.5);
}

TEST(VerdictFromUnit, SystemdCpuFigureIsPreferredToTheCgroups)
{
    auto e = exited(0);
    e.unit.cpuUsageNsec = 9100000;
    e.cgroup.cpuUsageUsec = 1;
    EXPECT_DOUBLE_EQ(*decideVerdict(e).cpuTimeMs, 9.1);
}

TEST(VerdictFromUnit, MemoryPeakComesFromTheCgroup)
{
    auto e = exited(0);
    e.cgroup.memoryPeakBytes = 8912896;
    EXPECT_EQ(decideVerdict(e).memoryPeakBytes, 8912896U);
}

TEST(SignalName, KnownAndUnknownSignals)
{
    EXPECT_EQ(signalName(SIGKILL), "SIGKILL");
    EXPECT_EQ(signalName(SIGXCPU), "SIGXCPU");
    EXPECT_EQ(signalName(200), "SIG200");
}

TEST(CgroupStats, FormatThenParseRoundTrips)
{
    CgroupStats stats;
    stats.oomKills = 1;
    stats.memoryPeakBytes = 104857600;
    stats.cpuUsageUsec = 149579;
    stats.memoryLimitBytes = 268435456;
    stats.tasksLimit = 64;
    stats.cpuQuotaUsec = 100000;
    EXPECT_EQ(parseCgroupStats(formatCgroupStats(stats)), stats);
}

TEST(CgroupStats, MissingAndMalformedLinesStayUnknown)
{
    const auto stats = parseCgroupStats("oom_kills x\nbogus 3\ncpu_usage_usec 7\n");
    EXPECT_FALSE(stats.oomKills);
    EXPECT_FALSE(stats.memoryPeakBytes);
    EXPECT_EQ(stats.cpuUsageUsec, 7U);
}

} // namespace
} // namespace pyrunner::core
