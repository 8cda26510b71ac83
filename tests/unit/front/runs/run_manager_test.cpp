#include "common/cgroup_stats.hpp"
#include "common/run_id.hpp"
#include "front/runs/retention.hpp"
#include "front/runs/run_manager.hpp"
#include "front/store/run_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

// Records what the manager asks and lets the test end runs when it chooses.
SandboxRun runWithId(const std::string& id)
{
    SandboxRun run;
    run.id = id;
    return run;
}

class FakeSandbox final : public Sandbox
{
  public:
    std::string unitName(const std::string& runId) const override
    {
        return "fake-" + runId + ".service";
    }
    void start(SandboxRun run, SandboxCallbacks callbacks) override
    {
        const auto id = run.id;
        run.outputDir = files->create(id, ::getgid());
        started.push_back(id);
        runs[id] = {std::move(run), std::move(callbacks)};
    }
    void prepare(const std::string& runId, const std::string& environment,
                 SandboxCallbacks callbacks) override
    {
        prepared.push_back(runId);
        preparedFor[runId] = environment;
        runs[runId] = {runWithId(runId), std::move(callbacks)};
    }
    void follow(const std::string& runId, SandboxCallbacks callbacks) override
    {
        followed.push_back(runId);
        if (neverStarted.contains(runId))
        {
            UnitOutcome vanished;
            vanished.vanished = true;
            vanished.error = "gone";
            callbacks.onExited(vanished);
            return;
        }
        runs[runId] = {runWithId(runId), std::move(callbacks)};
    }
    std::vector<std::string> strayRuns() override { return strays; }
    void kill(const std::string& runId) override { killed.push_back(runId); }
    void release(const std::string& runId) override { released.push_back(runId); }
    bool reachable() const override { return up; }
    std::map<std::string, bool> layers() const override { return {{"seccomp", true}}; }
    std::vector<Environment> environments() const override { return listed; }

    void exit(const std::string& id, int status)
    {
        UnitOutcome outcome;
        outcome.started = true;
        outcome.execMainCode = CLD_EXITED;
        outcome.execMainStatus = status;
        runs.at(id).second.onExited(outcome);
    }

    std::map<std::string, std::pair<SandboxRun, SandboxCallbacks>> runs;
    std::vector<std::string> started;
    std::vector<std::string> killed;
    std::vector<std::string> released;
    std::vector<std::string> followed;
    std::vector<std::string> prepared;
    // The environment each warm unit was prepared for.
    std::map<std::string, std::string> preparedFor;
    // What the privileged side lists; none: not heard from yet.
    std::vector<Environment> listed;
    std::set<std::string> neverStarted;
    std::vector<std::string> strays;
    bool up = true;
    // Where the privileged side would put the runs' files.
    const RunFiles* files = nullptr;
};

// Each event as "<what> <run id or reason> <client or message>".
class RecordedEvents final : public RunEvents
{
  public:
    void accepted(const Run& run, std::string_view client) override
    {
        seen.push_back("accepted " + run.id + " " + std::string(client));
    }
    void refused(SubmitError reason, std::string_view client) override
    {
        const auto* why = reason == SubmitError::QueueFull ? "queue-full" : "unavailable";
        seen.push_back(std::string("refused ") + why + " " + std::string(client));
    }
    void started(const Run& run, std::string_view client) override
    {
        seen.push_back("started " + run.id + " " + std::string(client));
    }
    void finished(const Run& run, std::string_view client) override
    {
        if (hold.valid())
        {
            hold.wait();
        }
        seen.push_back("finished " + run.id + " " + std::string(client));
        finishedRuns.push_back(run);
    }
    void failed(std::string_view runId, std::string_view message) override
    {
        seen.push_back("failed " + std::string(runId) + " " + std::string(message));
    }

    std::vector<std::string> seen;
    std::vector<Run> finishedRuns;
    // While valid and not ready, a run's end is held up where it is told.
    std::shared_future<void> hold;
};

class RunManagerTest : public testing::Test
{
  protected:
    RunManagerTest()
        : dir_(std::filesystem::temp_directory_path() / ("pyrunner-test-" + newRunId())),
          files_(layout(dir_)), store_(std::make_unique<RunStore>(dir_ / "front" / "runs.sqlite3"))
    {
        sandbox_.files = &files_;
    }

    static std::string layout(const std::filesystem::path& dir)
    {
        RunFiles::createLayout(dir.string(), ::getuid(), ::getgid());
        return dir.string();
    }
    ~RunManagerTest() override { std::filesystem::remove_all(dir_); }
    RunManagerTest(const RunManagerTest&) = delete;
    RunManagerTest& operator=(const RunManagerTest&) = delete;
    RunManagerTest(RunManagerTest&&) = delete;
    RunManagerTest& operator=(RunManagerTest&&) = delete;

    RunManager& manager(std::size_t running, std::size_t queued, std::size_t warm = 0,
                        std::map<std::string, std::size_t> pools = {})
    {
        RunManagerOptions options;
        options.maxRunning = running;
        options.maxQueued = queued;
        options.warmPools = std::move(pools);
        options.warmPools["default"] = warm;
        manager_.emplace(sandbox_, files_, *store_, options, events_);
        return *manager_;
    }

    // As after a crash: a new manager, a new sandbox, the same store and files.
    RunManager& restart(std::size_t running, std::size_t queued)
    {
        manager_.reset();
        sandbox_.runs.clear();
        sandbox_.started.clear();
        return manager(running, queued);
    }

    std::string submit(Completion onFinal = {})
    {
        RunRequest request;
        request.code = "print(1)";
        request.client = "192.0.2.7";
        request.limits.outputBytes = 4;
        const auto result = manager_->submit(request, std::move(onFinal));
        return std::get<Submitted>(result).view.run.id;
    }

    // The manager hands each callback's event to its worker: these wait until it is handled.
    void started(const std::string& id)
    {
        sandbox_.runs.at(id).second.onStarted();
        manager_->waitIdle();
    }
    void exited(const std::string& id, const UnitOutcome& outcome)
    {
        sandbox_.runs.at(id).second.onExited(outcome);
        manager_->waitIdle();
    }
    void exitWith(const std::string& id, int status)
    {
        sandbox_.exit(id, status);
        manager_->waitIdle();
    }
    Recovery recover()
    {
        auto recovery = manager_->recover();
        manager_->waitIdle();
        return recovery;
    }
    void environmentsChanged()
    {
        manager_->environmentsChanged();
        manager_->waitIdle();
    }

    void writeOutput(const std::string& id, const std::string& name, const std::string& text)
    {
        std::ofstream(dir_ / "runs" / id / name) << text;
    }

    std::filesystem::path dir_;
    RunFiles files_;
    std::unique_ptr<RunStore> store_;
    FakeSandbox sandbox_;
    RecordedEvents events_;
    std::optional<RunManager> manager_;
};

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

TEST_F(RunManagerTest, ARunTakesAWarmUnitAndThePoolRefills)
{
    auto& m = manager(2, 2, 2);
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 2U);
    // Not ready yet: a run does not wait for it.
    const auto cold = submit();
    EXPECT_EQ(std::count(sandbox_.prepared.begin(), sandbox_.prepared.end(), cold), 0);
    exitWith(cold, 0);
    started(sandbox_.prepared[0]);
    const auto id = submit();
    // The run is the warm unit: the same id, handed to it by start().
    EXPECT_EQ(id, sandbox_.prepared[0]);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{cold, id}));
    EXPECT_EQ(sandbox_.runs.at(id).first.code, "print(1)");
    // The replacement waits for the run's end, so as not to take the CPUs from it.
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
    exitWith(id, 0);
    EXPECT_EQ(m.find(id)->run.status, RunStatus::Succeeded);
    EXPECT_EQ(sandbox_.prepared.size(), 3U);
}

TEST_F(RunManagerTest, ARunOfAnotherEnvironmentTakesNoWarmUnit)
{
    auto& m = manager(2, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    RunRequest request;
    request.environment = "datascience";
    const auto id = std::get<Submitted>(m.submit(request, {})).view.run.id;
    EXPECT_NE(id, sandbox_.prepared[0]);
    EXPECT_EQ(sandbox_.runs.at(id).first.environment, "datascience");
}

TEST_F(RunManagerTest, ARunWithRequirementsRunsInTheirEnvironmentAndTakesNoWarmUnit)
{
    auto& m = manager(2, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    RunRequest request;
    request.requirements = {"numpy"};
    const auto view = std::get<Submitted>(m.submit(request, {})).view;
    EXPECT_NE(view.run.id, sandbox_.prepared[0]);
    EXPECT_EQ(view.run.environment, "req-e09f656c130b9c08b2c5ab7187c89129");
    const auto& launched = sandbox_.runs.at(view.run.id).first;
    EXPECT_EQ(launched.environment, view.run.environment);
    EXPECT_EQ(launched.requirements, std::vector<std::string>{"numpy"});
}

TEST_F(RunManagerTest, TheDefaultEnvironmentIsThereBeforeThePrivilegedSideSaysWhich)
{
    const auto environments = manager(1, 1).environments();
    ASSERT_EQ(environments.size(), 1U);
    EXPECT_EQ(environments[0].name, "default");
}

TEST_F(RunManagerTest, AQueuedRunTakesNoWarmUnit)
{
    manager(1, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    submit();
    const auto queued = submit();
    EXPECT_EQ(std::count(sandbox_.prepared.begin(), sandbox_.prepared.end(), queued), 0);
}

TEST_F(RunManagerTest, NoWarmUnitStartsWhileRunsWait)
{
    manager(1, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    const auto warm = submit();
    ASSERT_EQ(warm, sandbox_.prepared[0]);
    const auto second = submit();
    const auto third = submit();
    exitWith(warm, 0);
    // `second` runs and `third` still waits: no replacement yet.
    EXPECT_EQ(sandbox_.started.back(), second);
    EXPECT_EQ(sandbox_.prepared.size(), 1U);
    exitWith(second, 0);
    // `third` has left the queue: the pool fills again.
    EXPECT_EQ(sandbox_.started.back(), third);
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
}

TEST_F(RunManagerTest, AWarmUnitThatEndsIsReplacedUntilTheyKeepFailing)
{
    auto& m = manager(1, 1, 1);
    recover();
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome failed;
        failed.error = "refused";
        exited(sandbox_.prepared.back(), failed);
    }
    // Three failures in a row: no fourth replacement.
    EXPECT_EQ(sandbox_.prepared.size(), 3U);
    EXPECT_EQ(sandbox_.released.size(), 3U);
    EXPECT_EQ(m.health().running, 0U);
}

TEST_F(RunManagerTest, AWarmUnitEndedWhileWaitingIsReplaced)
{
    auto& m = manager(1, 1, 1);
    recover();
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome ended;
        ended.started = true;
        ended.result = "signal";
        exited(sandbox_.prepared.back(), ended);
    }
    EXPECT_EQ(sandbox_.prepared.size(), 6U);
    EXPECT_EQ(m.health().running, 0U);
}

Environment listedEnvironment(const std::string& name, EnvironmentKind kind)
{
    Environment environment;
    environment.name = name;
    environment.kind = kind;
    return environment;
}

TEST_F(RunManagerTest, EachListedEnvironmentHasItsOwnPool)
{
    sandbox_.listed = {listedEnvironment("datascience", EnvironmentKind::Shipped),
                       listedEnvironment("default", EnvironmentKind::Shipped)};
    auto& m = manager(2, 2, 1, {{"datascience", 2}, {"mine", 1}});
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 3U);
    std::vector<std::string> science;
    for (const auto& id : sandbox_.prepared)
    {
        if (sandbox_.preparedFor.at(id) == "datascience")
        {
            science.push_back(id);
        }
        started(id);
    }
    ASSERT_EQ(science.size(), 2U);
    RunRequest request;
    request.environment = "datascience";
    const auto id = std::get<Submitted>(m.submit(request, {})).view.run.id;
    EXPECT_EQ(id, science[0]);
    EXPECT_EQ(sandbox_.runs.at(id).first.environment, "datascience");
    exitWith(id, 0);
    // Refilled with a unit of the same environment.
    ASSERT_EQ(sandbox_.prepared.size(), 4U);
    EXPECT_EQ(sandbox_.preparedFor.at(sandbox_.prepared.back()), "datascience");
}

TEST_F(RunManagerTest, AnEnvironmentIsFilledOnceTheSandboxListsIt)
{
    sandbox_.listed = {listedEnvironment("default", EnvironmentKind::Shipped)};
    manager(2, 2, 1, {{"mine", 1}});
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 1U);
    sandbox_.listed.push_back(listedEnvironment("mine", EnvironmentKind::Operator));
    environmentsChanged();
    ASSERT_EQ(sandbox_.prepared.size(), 2U);
    EXPECT_EQ(sandbox_.preparedFor.at(sandbox_.prepared.back()), "mine");
    // Already full: nothing more.
    environmentsChanged();
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
}

TEST_F(RunManagerTest, ARequirementsEnvironmentNeverHasAPool)
{
    sandbox_.listed = {listedEnvironment("default", EnvironmentKind::Shipped),
                       listedEnvironment("req-x", EnvironmentKind::Requirements)};
    manager(2, 2, 0, {{"req-x", 1}});
    recover();
    EXPECT_TRUE(sandbox_.prepared.empty());
}

TEST_F(RunManagerTest, OneEnvironmentsFailingUnitsStopOnlyItsOwnPool)
{
    sandbox_.listed = {listedEnvironment("datascience", EnvironmentKind::Shipped),
                       listedEnvironment("default", EnvironmentKind::Shipped)};
    manager(1, 1, 1, {{"datascience", 1}});
    recover();
    const auto lastOf = [this](const std::string& environment) {
        for (auto it = sandbox_.prepared.rbegin(); it != sandbox_.prepared.rend(); ++it)
        {
            if (sandbox_.preparedFor.at(*it) == environment)
            {
                return *it;
            }
        }
        return std::string();
    };
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome failed;
        failed.error = "refused";
        exited(lastOf("datascience"), failed);
    }
    UnitOutcome ended;
    ended.started = true;
    exited(lastOf("default"), ended);
    const auto count = [this](const std::string& environment) {
        return std::count_if(sandbox_.prepared.begin(), sandbox_.prepared.end(),
                             [&](const std::string& id) {
            return sandbox_.preparedFor.at(id) == environment;
        });
    };
    EXPECT_EQ(count("datascience"), 3);
    EXPECT_EQ(count("default"), 2);
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

TEST(RunId, IsThirtyTwoHexDigitsAndUnique)
{
    const auto a = newRunId();
    EXPECT_TRUE(isRunId(a));
    EXPECT_NE(a, newRunId());
    EXPECT_FALSE(isRunId("../etc"));
    EXPECT_FALSE(isRunId(a + "0"));
}

} // namespace
} // namespace pyrunner::core
