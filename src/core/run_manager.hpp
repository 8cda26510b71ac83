#pragma once

#include "core/run_files.hpp"
#include "core/run_service.hpp"
#include "core/sandbox.hpp"

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace pyrunner::core
{

struct RunManagerOptions
{
    std::size_t maxRunning = 1;
    std::size_t maxQueued = 64;
    // Finished runs kept for reading back; the oldest go first.
    std::size_t maxFinished = 10000;
    std::vector<std::string> environments{"default"};
};

// The run lifecycle: admission, a bounded FIFO queue behind at most maxRunning units,
// verdicts, and the finished runs. All state sits behind one lock; the sandbox and the
// waiters are always called without it.
class RunManager final : public RunService
{
  public:
    using FinishedHook = std::function<void(const Run&)>;

    RunManager(Sandbox& sandbox, const RunFiles& files, RunManagerOptions options,
               FinishedHook onFinished);

    std::variant<Submitted, SubmitError> submit(RunRequest request, Completion onFinal) override;
    std::optional<RunView> find(const std::string& id) const override;
    std::optional<std::string> output(const std::string& id, Stream stream) const override;
    std::optional<RunView> cancel(const std::string& id) override;
    Health health() const override;
    std::vector<std::string> environments() const override;
    unsigned retryAfterSeconds() const override;

  private:
    struct Entry
    {
        Run run;
        // Held only until the run is handed to the sandbox.
        RunRequest request;
        std::vector<Completion> waiters;
        bool launched = false;
        bool cancelRequested = false;
    };

    // A run leaving the queue for the sandbox, decided under the lock, done without it.
    using Launch = SandboxRun;
    // A run that has reached its final status, to announce without the lock.
    struct Ending
    {
        Run run;
        std::vector<Completion> waiters;
    };

    Launch takeForLaunch(Entry& entry);
    std::vector<Launch> launchesFromQueue();
    void launch(Launch run);
    void markStarted(const std::string& id);
    void finish(const std::string& id, const UnitOutcome& outcome);
    Ending endLocked(Entry& entry);
    std::vector<std::string> evictLocked();
    void announce(const Ending& ending);
    RunView viewOf(const Run& run) const;

    Sandbox& sandbox_;
    const RunFiles& files_;
    const RunManagerOptions options_;
    const FinishedHook onFinished_;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> runs_;
    std::deque<std::string> queue_;
    std::deque<std::string> finished_;
    std::size_t running_ = 0;
};

} // namespace pyrunner::core
