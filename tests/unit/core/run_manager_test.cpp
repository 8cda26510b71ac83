#include "core/run_id.hpp"
#include "core/run_manager.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

// Records what the manager asks and lets the test end runs when it chooses.
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
    void kill(const std::string& runId) override { killed.push_back(runId); }
    void release(const std::string& runId) override { released.push_back(runId); }
    bool reachable() const override { return up; }
    std::map<std::string, bool> layers() const override { return {{"seccomp", true}}; }

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
    bool up = true;
    // Where the privileged side would put the runs' files.
    const RunFiles* files = nullptr;
};

class RunManagerTest : public testing::Test
{
  protected:
    RunManagerTest()
        : dir_(std::filesystem::temp_directory_path() / ("pyrunner-test-" + newRunId())),
          files_(layout(dir_))
    {
        sandbox_.files = &files_;
    }

    static std::string layout(const std::filesystem::path& dir)
    {
        RunFiles::createLayout(dir.string(), ::getgid());
        return dir.string();
    }
    ~RunManagerTest() override { std::filesystem::remove_all(dir_); }
    RunManagerTest(const RunManagerTest&) = delete;
    RunManagerTest& operator=(const RunManagerTest&) = delete;
    RunManagerTest(RunManagerTest&&) = delete;
    RunManagerTest& operator=(RunManagerTest&&) = delete;

    RunManager& manager(std::size_t running, std::size_t queued, std::size_t finished = 100)
    {
        RunManagerOptions options;
        options.maxRunning = running;
        options.maxQueued = queued;
        options.maxFinished = finished;
        manager_.emplace(sandbox_, files_, options,
                         [this](const core::Run& run) { logged_.push_back(run); });
        return *manager_;
    }

    std::string submit(Completion onFinal = {})
    {
        RunRequest request;
        request.code = "print(1)";
        request.limits.outputBytes = 4;
        const auto result = manager_->submit(request, std::move(onFinal));
        return std::get<Submitted>(result).view.run.id;
    }

    void writeOutput(const std::string& id, const std::string& name, const std::string& text)
    {
        std::ofstream(dir_ / "runs" / id / name) << text;
    }

    std::filesystem::path dir_;
    RunFiles files_;
    FakeSandbox sandbox_;
    std::vector<core::Run> logged_;
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
    sandbox_.exit(a, 0);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{a, b}));
    sandbox_.exit(b, 0);
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

TEST_F(RunManagerTest, CompletionGetsTheVerdictAndTheCappedOutput)
{
    manager(1, 1);
    std::optional<RunView> seen;
    const auto id = submit([&seen](const RunView& view) { seen = view; });
    writeOutput(id, "stdout", "hello");
    writeOutput(id, "stderr", "ok");
    sandbox_.exit(id, 0);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->run.status, RunStatus::OutputLimitExceeded);
    EXPECT_EQ(seen->output.stdoutData, "hell");
    EXPECT_TRUE(seen->run.stdoutTruncated);
    EXPECT_EQ(seen->output.stderrData, "ok");
    EXPECT_FALSE(seen->run.stderrTruncated);
    ASSERT_EQ(logged_.size(), 1U);
    EXPECT_EQ(logged_[0].id, id);
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
    sandbox_.exit(id, 0);
    EXPECT_EQ(m.find(id)->run.status, RunStatus::Cancelled);
    EXPECT_EQ(m.health().running, 0U);
}

TEST_F(RunManagerTest, CancellingAFinishedRunLeavesIt)
{
    auto& m = manager(1, 1);
    const auto id = submit();
    sandbox_.exit(id, 2);
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

TEST_F(RunManagerTest, OldestFinishedRunsAreForgottenWithTheirFiles)
{
    auto& m = manager(1, 1, 1);
    const auto first = submit();
    sandbox_.exit(first, 0);
    const auto second = submit();
    sandbox_.exit(second, 0);
    EXPECT_FALSE(m.find(first));
    EXPECT_EQ(sandbox_.released, std::vector<std::string>{first});
    EXPECT_TRUE(m.find(second));
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
