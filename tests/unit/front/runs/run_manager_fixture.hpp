#pragma once

#include "common/cgroup_stats.hpp"
#include "common/run_id.hpp"
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

// The fixture of RunManager's tests: a sandbox the test ends runs in, the events recorded, a
// real store and real run files in a temporary directory.
namespace pyrunner::core::test
{

// Records what the manager asks and lets the test end runs when it chooses.
inline SandboxRun runWithId(const std::string& id)
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
    void prepare(const std::string& runId, const std::string& environment, const TenantSlice& slice,
                 SandboxCallbacks callbacks) override
    {
        preparedSlice[runId] = slice;
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
    // The slice each warm unit was prepared in.
    std::map<std::string, TenantSlice> preparedSlice;
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
    void refused(SubmitError reason, std::string_view client, std::string_view tenant) override
    {
        const auto* why = reason == SubmitError::QueueFull         ? "queue-full"
                          : reason == SubmitError::TenantQueueFull ? "tenant-queue-full"
                                                                   : "unavailable";
        seen.push_back(std::string("refused ") + why + " " + std::string(client) +
                       (tenant.empty() ? "" : " " + std::string(tenant)));
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
        // A server without authentication: every run is the tenant "".
        options.warmTenants = {""};
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

} // namespace pyrunner::core::test
