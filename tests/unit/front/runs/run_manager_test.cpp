#include "front/runs/retention.hpp"
#include "run_manager_fixture.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

using test::RunManagerTest;

TEST_F(RunManagerTest, StartsAtMostMaxRunningAndQueuesTheRestInOrder)
{
    auto& m = manager(1, 2);
    const auto a = submit();
    const auto b = submit();
    const auto c = submit();
    EXPECT_EQ(sandbox_.started, std::vector<std::string>{a});
    EXPECT_EQ(m.health().queued, 2U);
    exitWith(a, 0);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{a, b}));
    exitWith(b, 0);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{a, b, c}));
}

TEST_F(RunManagerTest, FullQueueRefusesTheSubmission)
{
    auto& m = manager(1, 1);
    submit();
    submit();
    RunRequest request;
    EXPECT_EQ(std::get<SubmitError>(m.submit(request, {})), SubmitError::QueueFull);
}

TEST_F(RunManagerTest, UnreachableSystemdRefusesTheSubmission)
{
    auto& m = manager(1, 1);
    sandbox_.up = false;
    RunRequest request;
    EXPECT_EQ(std::get<SubmitError>(m.submit(request, {})), SubmitError::Unavailable);
}

TEST_F(RunManagerTest, HandsTheRequestToTheSandbox)
{
    manager(1, 1);
    const auto id = submit();
    const auto& run = sandbox_.runs.at(id).first;
    EXPECT_EQ(run.code, "print(1)");
    EXPECT_EQ(run.limits.outputBytes, 4U);
}

TEST_F(RunManagerTest, RunFilesAreSetgidAndReadableByTheGroupOnly)
{
    const auto path = files_.create(newRunId(), ::getgid());
    namespace fs = std::filesystem;
    EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_all | fs::perms::group_read |
                                                  fs::perms::group_exec | fs::perms::set_gid);
    EXPECT_EQ(fs::status(path + "/stdout").permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    EXPECT_EQ(fs::file_size(path + "/stderr"), 0U);
}

TEST_F(RunManagerTest, TheBrokersStopRecordIsReadAsTheHelpersIsAndReadableByTheGroup)
{
    const auto id = newRunId();
    const auto path = files_.create(id, ::getgid());
    CgroupStats stats;
    stats.oomKills = 1;
    stats.memoryPeakBytes = 4096;
    files_.writeStopRecord(id, formatCgroupStats(stats));
    EXPECT_EQ(files_.cgroupStats(id), stats);
    namespace fs = std::filesystem;
    EXPECT_EQ(fs::status(path + "/" + RunFiles::cgroupStatsName).permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    EXPECT_FALSE(fs::exists(path + "/" + RunFiles::cgroupStatsBrokerName));
}

TEST_F(RunManagerTest, TheHelpersStopRecordStaysWhereItCameFirst)
{
    const auto id = newRunId();
    const auto path = files_.create(id, ::getgid());
    CgroupStats helper;
    helper.oomKills = 0;
    std::ofstream(path + "/" + RunFiles::cgroupStatsName) << formatCgroupStats(helper);
    CgroupStats broker;
    broker.oomKills = 1;
    files_.writeStopRecord(id, formatCgroupStats(broker));
    EXPECT_EQ(files_.cgroupStats(id), helper);
    EXPECT_FALSE(std::filesystem::exists(path + "/" + RunFiles::cgroupStatsBrokerName));
}

TEST_F(RunManagerTest, CompletionGetsTheVerdictAndTheCappedOutput)
{
    manager(1, 1);
    std::optional<RunView> seen;
    const auto id = submit([&seen](const RunView& view) { seen = view; });
    writeOutput(id, "stdout", "hello");
    writeOutput(id, "stderr", "ok");
    exitWith(id, 0);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->run.status, RunStatus::OutputLimitExceeded);
    EXPECT_EQ(seen->output.stdoutData, "hell");
    EXPECT_TRUE(seen->run.stdoutTruncated);
    EXPECT_EQ(seen->output.stderrData, "ok");
    EXPECT_FALSE(seen->run.stderrTruncated);
    ASSERT_EQ(events_.finishedRuns.size(), 1U);
    EXPECT_EQ(events_.finishedRuns[0].id, id);
}

TEST_F(RunManagerTest, TellsEveryStepOfARunWithItsClient)
{
    manager(1, 1);
    const auto id = submit();
    started(id);
    exitWith(id, 0);
    const std::string client = "192.0.2.7";
    EXPECT_EQ(events_.seen, (std::vector<std::string>{"accepted " + id + " " + client,
                                                      "started " + id + " " + client,
                                                      "finished " + id + " " + client}));
    EXPECT_EQ(events_.finishedRuns.at(0).status, RunStatus::Succeeded);
}

TEST_F(RunManagerTest, TheSandboxsCallbacksReturnWhileARunsEndIsStillBeingHandled)
{
    manager(2, 1);
    const auto id = submit();
    const auto other = submit();
    std::promise<void> release;
    events_.hold = release.get_future().share();
    // As the bus thread calls them: the first run's end, then the second's start.
    auto bus = std::async(std::launch::async, [this, id, other] {
        sandbox_.exit(id, 0);
        sandbox_.runs.at(other).second.onStarted();
    });
    // A bound that only a callback waiting for the held end can reach.
    EXPECT_EQ(bus.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(store_->find(other)->status, RunStatus::Queued);
    release.set_value();
    manager_->waitIdle();
    EXPECT_EQ(store_->find(id)->status, RunStatus::Succeeded);
    EXPECT_EQ(store_->find(other)->status, RunStatus::Running);
}

TEST_F(RunManagerTest, TellsRefusedSubmissions)
{
    auto& m = manager(1, 0);
    submit();
    RunRequest request;
    request.client = "2001:db8::1";
    m.submit(request, {});
    sandbox_.up = false;
    m.submit(request, {});
    EXPECT_EQ(events_.seen.at(1), "refused queue-full 2001:db8::1");
    EXPECT_EQ(events_.seen.at(2), "refused unavailable 2001:db8::1");
}

TEST_F(RunManagerTest, TellsACancelledQueuedRunAsFinished)
{
    auto& m = manager(1, 1);
    submit();
    const auto queued = submit();
    m.cancel(queued);
    ASSERT_EQ(events_.finishedRuns.size(), 1U);
    EXPECT_EQ(events_.finishedRuns[0].id, queued);
    EXPECT_EQ(events_.finishedRuns[0].status, RunStatus::Cancelled);
}

TEST_F(RunManagerTest, HealthCountsWarmUnitsReadyAndStarting)
{
    auto& m = manager(1, 1, 2);
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 2U);
    started(sandbox_.prepared[0]);
    const auto health = m.health();
    EXPECT_EQ(health.warm, (std::map<std::string, Health::WarmUnits>{{"default", {1, 1}}}));
}

TEST_F(RunManagerTest, CancellingAQueuedRunEndsItWithoutTheSandbox)
{
    auto& m = manager(1, 1);
    submit();
    int calls = 0;
    const auto queued = submit([&calls](const RunView&) { ++calls; });
    const auto view = m.cancel(queued);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->run.status, RunStatus::Cancelled);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(m.health().queued, 0U);
    EXPECT_TRUE(sandbox_.killed.empty());
}

TEST_F(RunManagerTest, CancellingARunningRunKillsItsUnitAndKeepsTheVerdict)
{
    auto& m = manager(1, 1);
    const auto id = submit();
    EXPECT_EQ(m.cancel(id)->run.status, RunStatus::Cancelled);
    EXPECT_EQ(sandbox_.killed, std::vector<std::string>{id});
    EXPECT_EQ(m.health().running, 1U);
    exitWith(id, 0);
    EXPECT_EQ(m.find(id)->run.status, RunStatus::Cancelled);
    EXPECT_EQ(m.health().running, 0U);
}

TEST_F(RunManagerTest, CancellingAFinishedRunLeavesIt)
{
    auto& m = manager(1, 1);
    const auto id = submit();
    exitWith(id, 2);
    EXPECT_EQ(m.cancel(id)->run.status, RunStatus::Failed);
    EXPECT_TRUE(sandbox_.killed.empty());
}

TEST_F(RunManagerTest, UnknownRunsAreNotFound)
{
    auto& m = manager(1, 1);
    EXPECT_FALSE(m.find("nope"));
    EXPECT_FALSE(m.cancel("nope"));
    EXPECT_FALSE(m.output("nope", Stream::Stdout));
}

TEST_F(RunManagerTest, FinishedRunsAreReadBackFromTheStore)
{
    manager(1, 1);
    const auto id = submit();
    writeOutput(id, "stdout", "hi");
    exitWith(id, 3);
    auto& m = restart(1, 1);
    EXPECT_EQ(recover().followed, 0U);
    const auto view = m.find(id);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->run.status, RunStatus::Failed);
    EXPECT_EQ(view->run.exitCode, 3);
    EXPECT_EQ(view->output.stdoutData, "hi");
}

TEST_F(RunManagerTest, RecoveryFollowsRunningRunsAndStartsThoseThatNeverRan)
{
    manager(1, 1);
    const auto running = submit();
    started(running);
    const auto queued = submit();
    sandbox_.neverStarted.insert(queued);

    auto& m = restart(1, 1);
    const auto recovery = recover();

    EXPECT_EQ(recovery.followed, 2U);
    EXPECT_EQ(sandbox_.followed, (std::vector<std::string>{running, queued}));
    // The one that never ran waits for the slot its elder still holds.
    EXPECT_TRUE(sandbox_.started.empty());
    EXPECT_EQ(m.health().queued, 1U);
    exitWith(running, 0);
    EXPECT_EQ(m.find(running)->run.status, RunStatus::Succeeded);
    ASSERT_EQ(sandbox_.started, std::vector<std::string>{queued});
    EXPECT_EQ(sandbox_.runs.at(queued).first.code, "print(1)");
}

// Not in submit(): a run of a disk_mb other than the default is never handed a warm unit.
TEST_F(RunManagerTest, ARunsDiskSpaceReachesTheSandboxAlsoAfterARestart)
{
    auto& first = manager(1, 1);
    const auto running = submit();
    started(running);
    RunRequest request;
    request.code = "print(2)";
    request.limits.diskMb = 64;
    const auto queued = std::get<Submitted>(first.submit(request, {})).view.run.id;
    EXPECT_EQ(first.find(queued)->run.limits.diskMb, 64U);
    sandbox_.neverStarted.insert(queued);

    auto& m = restart(1, 1);
    recover();
    exitWith(running, 0);

    ASSERT_EQ(sandbox_.started, std::vector<std::string>{queued});
    EXPECT_EQ(sandbox_.runs.at(queued).first.limits.diskMb, 64U);
    EXPECT_EQ(m.find(queued)->run.limits.diskMb, 64U);
}

TEST_F(RunManagerTest, ARunThatStartedButLeftNoTraceIsAnError)
{
    manager(1, 1);
    const auto id = submit();
    started(id);
    sandbox_.neverStarted.insert(id);
    auto& m = restart(1, 1);
    recover();
    EXPECT_EQ(m.find(id)->run.status, RunStatus::Error);
    EXPECT_TRUE(sandbox_.started.empty());
}

TEST_F(RunManagerTest, StrayUnitsAreStopped)
{
    sandbox_.strays = {newRunId()};
    manager(1, 1);
    EXPECT_EQ(recover().strays, sandbox_.strays);
    EXPECT_EQ(sandbox_.killed, sandbox_.strays);
}

TEST_F(RunManagerTest, ACancelledRunStaysUnfinishedInTheStoreUntilItsUnitEnds)
{
    auto& m = manager(1, 1);
    const auto id = submit();
    m.cancel(id);
    ASSERT_EQ(store_->unfinished().size(), 1U);
    exitWith(id, 0);
    EXPECT_TRUE(store_->unfinished().empty());
    EXPECT_EQ(store_->find(id)->status, RunStatus::Cancelled);
}

TEST_F(RunManagerTest, RetentionDeletesExpiredRunsAndTheirFilesButNoUnfinishedOne)
{
    auto& m = manager(1, 1);
    const auto finished = submit();
    exitWith(finished, 0);
    const auto running = submit();
    Retention retention(*store_, sandbox_, RetentionOptions{std::chrono::seconds(0), 0}, {});
    retention.sweep();
    EXPECT_FALSE(m.find(finished));
    EXPECT_EQ(sandbox_.released, std::vector<std::string>{finished});
    EXPECT_TRUE(m.find(running));
}

} // namespace
} // namespace pyrunner::core
