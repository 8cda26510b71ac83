#include "core/run_manager.hpp"

#include "core/run_id.hpp"
#include "core/verdict.hpp"

#include <algorithm>
#include <utility>

namespace pyrunner::core
{
namespace
{

// Queue slots free as runs end, which is usually within seconds.
constexpr unsigned minRetryAfterSeconds = 1;

const char* fileOf(Stream stream)
{
    return stream == Stream::Stdout ? RunFiles::stdoutName : RunFiles::stderrName;
}

} // namespace

RunManager::RunManager(Sandbox& sandbox, const RunFiles& files, RunManagerOptions options,
                       FinishedHook onFinished)
    : sandbox_(sandbox), files_(files), options_(std::move(options)),
      onFinished_(std::move(onFinished))
{
}

std::variant<Submitted, SubmitError> RunManager::submit(RunRequest request, Completion onFinal)
{
    if (!sandbox_.reachable())
    {
        return SubmitError::Unavailable;
    }
    std::optional<Launch> now;
    Run snapshot;
    {
        const std::lock_guard lock(mutex_);
        const bool slotFree = running_ < options_.maxRunning;
        if (!slotFree && queue_.size() >= options_.maxQueued)
        {
            return SubmitError::QueueFull;
        }
        Entry entry;
        entry.run.id = newRunId();
        entry.run.unit = sandbox_.unitName(entry.run.id);
        entry.run.environment = request.environment;
        entry.run.limits = request.limits;
        entry.run.createdAt = Clock::now();
        entry.request = std::move(request);
        if (onFinal)
        {
            entry.waiters.push_back(std::move(onFinal));
        }
        auto& stored = runs_.emplace(entry.run.id, std::move(entry)).first->second;
        if (slotFree)
        {
            now = takeForLaunch(stored);
        }
        else
        {
            queue_.push_back(stored.run.id);
        }
        snapshot = stored.run;
    }
    if (now)
    {
        launch(std::move(*now));
    }
    return Submitted{viewOf(snapshot)};
}

RunManager::Launch RunManager::takeForLaunch(Entry& entry)
{
    ++running_;
    entry.launched = true;
    Launch run;
    run.id = entry.run.id;
    run.code = std::move(entry.request.code);
    run.stdinData = std::move(entry.request.stdinData);
    run.args = std::move(entry.request.args);
    run.limits = entry.run.limits;
    entry.request = {};
    return run;
}

std::vector<RunManager::Launch> RunManager::launchesFromQueue()
{
    std::vector<Launch> launches;
    while (running_ < options_.maxRunning && !queue_.empty())
    {
        const auto id = queue_.front();
        queue_.pop_front();
        launches.push_back(takeForLaunch(runs_.at(id)));
    }
    return launches;
}

void RunManager::launch(Launch run)
{
    const auto id = run.id;
    SandboxCallbacks callbacks;
    callbacks.onStarted = [this, id] { markStarted(id); };
    callbacks.onExited = [this, id](const UnitOutcome& outcome) { finish(id, outcome); };
    sandbox_.start(std::move(run), std::move(callbacks));
}

void RunManager::markStarted(const std::string& id)
{
    const std::lock_guard lock(mutex_);
    const auto it = runs_.find(id);
    if (it == runs_.end() || isFinal(it->second.run.status))
    {
        return;
    }
    it->second.run.status = RunStatus::Running;
    it->second.run.startedAt = Clock::now();
}

void RunManager::finish(const std::string& id, const UnitOutcome& outcome)
{
    Evidence evidence;
    evidence.unit = outcome;
    {
        const std::lock_guard lock(mutex_);
        const auto& entry = runs_.at(id);
        evidence.limits = entry.run.limits;
        evidence.cancelRequested = entry.cancelRequested;
    }
    // The unit is gone, so nothing writes these files any more.
    evidence.cgroup = files_.cgroupStats(id);
    evidence.stdoutBytes = files_.size(id, RunFiles::stdoutName);
    evidence.stderrBytes = files_.size(id, RunFiles::stderrName);
    const auto verdict = decideVerdict(evidence);

    Ending ending;
    std::vector<Launch> next;
    std::vector<std::string> evicted;
    {
        const std::lock_guard lock(mutex_);
        auto& run = runs_.at(id).run;
        run.status = verdict.status;
        run.exitCode = verdict.exitCode;
        run.signal = verdict.signal;
        run.durationMs = verdict.durationMs;
        run.cpuTimeMs = verdict.cpuTimeMs;
        run.memoryPeakBytes = verdict.memoryPeakBytes;
        run.error = verdict.error;
        run.stdoutTruncated = evidence.stdoutBytes > run.limits.outputBytes;
        run.stderrTruncated = evidence.stderrBytes > run.limits.outputBytes;
        if (!run.finishedAt)
        {
            run.finishedAt = Clock::now();
        }
        --running_;
        ending = endLocked(runs_.at(id));
        next = launchesFromQueue();
        evicted = evictLocked();
    }
    for (const auto& gone : evicted)
    {
        sandbox_.release(gone);
    }
    announce(ending);
    for (auto& run : next)
    {
        launch(std::move(run));
    }
}

RunManager::Ending RunManager::endLocked(Entry& entry)
{
    finished_.push_back(entry.run.id);
    return Ending{entry.run, std::exchange(entry.waiters, {})};
}

std::vector<std::string> RunManager::evictLocked()
{
    std::vector<std::string> evicted;
    while (finished_.size() > options_.maxFinished)
    {
        evicted.push_back(finished_.front());
        runs_.erase(finished_.front());
        finished_.pop_front();
    }
    return evicted;
}

void RunManager::announce(const Ending& ending)
{
    if (onFinished_)
    {
        onFinished_(ending.run);
    }
    if (ending.waiters.empty())
    {
        return;
    }
    const auto view = viewOf(ending.run);
    for (const auto& waiter : ending.waiters)
    {
        waiter(view);
    }
}

RunView RunManager::viewOf(const Run& run) const
{
    RunView view{run, {}};
    const auto limit = run.limits.outputBytes;
    view.output.stdoutData = files_.read(run.id, RunFiles::stdoutName, limit).data;
    view.output.stderrData = files_.read(run.id, RunFiles::stderrName, limit).data;
    return view;
}

std::optional<RunView> RunManager::find(const std::string& id) const
{
    Run run;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end())
        {
            return std::nullopt;
        }
        run = it->second.run;
    }
    return viewOf(run);
}

std::optional<std::string> RunManager::output(const std::string& id, Stream stream) const
{
    std::uint64_t limit = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end())
        {
            return std::nullopt;
        }
        limit = it->second.run.limits.outputBytes;
    }
    return files_.read(id, fileOf(stream), limit).data;
}

std::optional<RunView> RunManager::cancel(const std::string& id)
{
    std::optional<Ending> ending;
    bool kill = false;
    Run snapshot;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end())
        {
            return std::nullopt;
        }
        auto& entry = it->second;
        if (!isFinal(entry.run.status))
        {
            entry.cancelRequested = true;
            entry.run.status = RunStatus::Cancelled;
            entry.run.finishedAt = Clock::now();
            if (entry.launched)
            {
                // The slot frees when the unit is really gone; finish() fills in the rest.
                kill = true;
            }
            else
            {
                std::erase(queue_, id);
                ending = endLocked(entry);
            }
        }
        snapshot = entry.run;
    }
    if (kill)
    {
        sandbox_.kill(id);
    }
    if (ending)
    {
        announce(*ending);
    }
    return viewOf(snapshot);
}

Health RunManager::health() const
{
    const std::lock_guard lock(mutex_);
    return Health{sandbox_.reachable(), running_,           queue_.size(),
                  options_.maxRunning,  options_.maxQueued, sandbox_.layers()};
}

std::vector<std::string> RunManager::environments() const
{
    return options_.environments;
}

unsigned RunManager::retryAfterSeconds() const
{
    return minRetryAfterSeconds;
}

} // namespace pyrunner::core
