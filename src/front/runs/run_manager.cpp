#include "front/runs/run_manager.hpp"

#include "common/digest.hpp"
#include "common/environment_requirements.hpp"
#include "common/run_id.hpp"
#include "front/runs/verdict.hpp"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <set>
#include <unistd.h>
#include <utility>

namespace pyrunner::core
{
namespace
{

// A warm unit was started before its run was known: with the default space and collector, and
// nothing of the run's bound in.
bool fitsWarmUnit(const RunRequest& request, const Limits& warm)
{
    return request.requirements.empty() && request.entry.empty() && !request.hasFiles &&
           request.filesBundle.empty() && request.limits.diskMb == warm.diskMb &&
           request.limits.filesCount == warm.filesCount &&
           request.limits.filesBytes == warm.filesBytes;
}

// Queue slots free as runs end, which is usually within seconds.
constexpr unsigned minRetryAfterSeconds = 1;
constexpr std::size_t maxWarmFailures = 3;

const char* fileOf(Stream stream)
{
    return stream == Stream::Stdout ? RunFiles::stdoutName : RunFiles::stderrName;
}

// A run followed after a restart has no unit timestamps; the stop record's clock and the
// start the store kept give its duration instead.
std::optional<double> durationFromRecord(const Run& run, const UnitEnd& end)
{
    if (!run.startedAt || !end.stoppedRealtimeUsec)
    {
        return std::nullopt;
    }
    const auto started =
        std::chrono::duration_cast<std::chrono::microseconds>(run.startedAt->time_since_epoch())
            .count();
    const auto stopped = static_cast<std::int64_t>(*end.stoppedRealtimeUsec);
    constexpr double usecPerMs = 1000.0;
    return stopped >= started ? std::optional(static_cast<double>(stopped - started) / usecPerMs)
                              : std::nullopt;
}

// The environment a request runs in: its own requirements' when it lists any.
std::string environmentOf(const RunRequest& request)
{
    if (request.requirements.empty())
    {
        return request.environment;
    }
    return requirementsEnvironmentName(NormalisedRequirements{request.requirements});
}

} // namespace

RunManager::RunManager(Sandbox& sandbox, const RunFiles& files, RunStore& store,
                       RunManagerOptions options, RunEvents& events)
    : sandbox_(sandbox), files_(files), store_(store), options_(std::move(options)), events_(events)
{
    for (const auto& tenant : options_.warmTenants)
    {
        if (warmTenants_.size() < maxWarmTenants &&
            std::find(warmTenants_.begin(), warmTenants_.end(), tenant) == warmTenants_.end())
        {
            warmTenants_.push_back(tenant);
        }
    }
}

Recovery RunManager::recover()
{
    Recovery recovery;
    std::vector<std::string> unfinished;
    {
        const std::lock_guard lock(mutex_);
        for (auto& stored : store_.unfinished())
        {
            const auto id = stored.run.id;
            // The id becomes a unit name and a directory name: only a well-formed one.
            if (!isRunId(id))
            {
                continue;
            }
            Entry entry{std::move(stored.run), std::move(stored.request), {}, true, false};
            // Counted as running until the sandbox says whether it ever started.
            ++running_;
            ++runningByTenant_[entry.run.tenant];
            runs_.emplace(id, std::move(entry));
            unfinished.push_back(id);
        }
    }
    if (options_.shareOf)
    {
        const std::lock_guard lock(mutex_);
        std::set<std::string> tenants(warmTenants_.begin(), warmTenants_.end());
        for (const auto& [id, entry] : runs_)
        {
            tenants.insert(entry.run.tenant);
        }
        for (const auto& tenant : tenants)
        {
            if (const auto share = options_.shareOf(tenant))
            {
                shares_[tenant] = *share;
            }
        }
    }
    for (const auto& id : unfinished)
    {
        sandbox_.follow(id, callbacksFor(id));
        ++recovery.followed;
    }
    for (const auto& id : sandbox_.strayRuns())
    {
        sandbox_.kill(id);
        recovery.strays.push_back(id);
    }
    fillWarmPools();
    return recovery;
}

void RunManager::fillWarmPools()
{
    std::set<std::string> listed;
    for (const auto& environment : environments())
    {
        // A requirements environment serves the runs of one list: never worth a pool.
        if (environment.kind != EnvironmentKind::Requirements)
        {
            listed.insert(environment.name);
        }
    }
    std::vector<WarmUnit> units;
    {
        const std::lock_guard lock(mutex_);
        // Not while runs wait for a slot: the CPUs are the bottleneck then, and a warm unit
        // takes more of them than the cold start it saves (its common modules too). Each
        // run's end calls this again, once the next queued run has left the queue.
        if (!queue_.empty())
        {
            return;
        }
        for (const auto& tenant : warmTenants_)
        {
            const TenantSlice slice{tenant, shares_[tenant].caps};
            for (const auto& pool : options_.warmPools)
            {
                const auto& environment = pool.first;
                if (!listed.contains(environment))
                {
                    continue;
                }
                auto have = static_cast<std::size_t>(std::count_if(warm_.begin(), warm_.end(),
                                                                   [&](const WarmUnit& unit) {
                    return unit.environment == environment && unit.slice.tenant == tenant &&
                           !unit.retired;
                }));
                for (; have < pool.second && warmFailures_[environment] < maxWarmFailures; ++have)
                {
                    warm_.push_back(WarmUnit{newRunId(), environment, slice, false, false});
                    units.push_back(warm_.back());
                }
            }
        }
    }
    for (const auto& unit : units)
    {
        const auto& id = unit.id;
        SandboxCallbacks callbacks;
        callbacks.onStarted = [this, id] { handOver(id, [this, id] { warmUnitReady(id); }); };
        callbacks.onExited = [this, id](UnitOutcome outcome) {
            handOver(id, [this, id, outcome = std::move(outcome)] { warmUnitEnded(id, outcome); });
        };
        sandbox_.prepare(id, unit.environment, unit.slice, std::move(callbacks));
    }
}

void RunManager::environmentsChanged()
{
    handOver({}, [this] { fillWarmPools(); });
}

void RunManager::waitIdle()
{
    worker_.waitIdle();
}

void RunManager::handOver(const std::string& id, std::function<void()> event)
{
    worker_.post([this, id, event = std::move(event)] {
        try
        {
            event();
        }
        catch (const std::exception& error)
        {
            events_.failed(id, std::string("Handling what the sandbox reported failed: ") +
                                   error.what());
        }
    });
}

void RunManager::warmUnitReady(const std::string& id)
{
    const std::lock_guard lock(mutex_);
    for (auto& unit : warm_)
    {
        if (unit.id == id)
        {
            unit.ready = true;
        }
    }
}

void RunManager::touchWarmTenantLocked(const std::string& tenant)
{
    const auto known = std::find(warmTenants_.begin(), warmTenants_.end(), tenant);
    if (known == warmTenants_.begin() && known != warmTenants_.end())
    {
        return;
    }
    if (known != warmTenants_.end())
    {
        warmTenants_.erase(known);
    }
    warmTenants_.push_front(tenant);
    if (warmTenants_.size() <= maxWarmTenants)
    {
        return;
    }
    const auto dropped = warmTenants_.back();
    warmTenants_.pop_back();
    for (auto& unit : warm_)
    {
        if (unit.slice.tenant == dropped && !unit.retired)
        {
            unit.retired = true;
            // Its end (warmUnitEnded) takes it out of the pool and releases its files.
            handOver(unit.id, [this, id = unit.id] { sandbox_.kill(id); });
        }
    }
}

std::size_t RunManager::runningOf(const std::string& tenant) const
{
    const auto count = runningByTenant_.find(tenant);
    return count == runningByTenant_.end() ? 0 : count->second;
}

bool RunManager::mayStartLocked(const std::string& tenant) const
{
    const auto share = shares_.find(tenant);
    return share == shares_.end() || !share->second.maxRunning ||
           runningOf(tenant) < *share->second.maxRunning;
}

std::optional<std::string> RunManager::takeWarmLocked(const std::string& environment,
                                                      const TenantSlice& slice)
{
    // The broker sets the slice's caps again as it hands the run over, should they have
    // changed since the unit was prepared: the tenant is what must match.
    const auto ready = std::find_if(warm_.begin(), warm_.end(), [&](const WarmUnit& unit) {
        return unit.ready && !unit.retired && unit.environment == environment &&
               unit.slice.tenant == slice.tenant;
    });
    if (ready == warm_.end())
    {
        return std::nullopt;
    }
    auto id = ready->id;
    warm_.erase(ready);
    warmFailures_[environment] = 0;
    return id;
}

void RunManager::warmUnitEnded(const std::string& id, const UnitOutcome& outcome)
{
    {
        const std::lock_guard lock(mutex_);
        const auto it = std::find_if(warm_.begin(), warm_.end(),
                                     [&id](const WarmUnit& unit) { return unit.id == id; });
        if (it == warm_.end())
        {
            // Taken for a run meanwhile; the run's own start reports what became of it.
            return;
        }
        auto& failures = warmFailures_[it->environment];
        warm_.erase(it);
        // A unit that ran and was ended (its idle limit, a reload of systemd) is replaced; one
        // that could not start at all counts towards giving up.
        failures = outcome.started ? 0 : failures + 1;
    }
    sandbox_.release(id);
    fillWarmPools();
}

std::variant<Submitted, SubmitError> RunManager::submit(RunRequest request, Completion onFinal)
{
    const auto client = request.client;
    const auto tenant = request.tenant;
    if (!sandbox_.reachable())
    {
        events_.refused(SubmitError::Unavailable, client, tenant);
        return SubmitError::Unavailable;
    }
    // Written before the lock is taken, since it may be large: a run with files never takes a
    // warm unit's id, so its own is known already.
    std::optional<std::string> filesId;
    if (!request.filesBundle.empty())
    {
        if (!options_.filesIn)
        {
            throw std::runtime_error("this server takes no files");
        }
        filesId = newRunId();
        options_.filesIn->put(*filesId, request.filesBundle);
        request.hasFiles = true;
        std::string().swap(request.filesBundle);
    }
    const auto dropFiles = [this, &filesId] {
        if (filesId)
        {
            options_.filesIn->remove(*filesId);
        }
    };
    std::optional<Launch> now;
    Run snapshot;
    bool newWarmTenant = false;
    {
        std::unique_lock lock(mutex_);
        shares_[tenant] = request.share;
        // Runs still queued while a slot is free wait for their own tenant's cap, so a run
        // that may start takes the slot before them without passing anyone.
        const bool slotFree = running_ < options_.maxRunning && mayStartLocked(tenant);
        const auto refusal =
            slotFree                              ? std::nullopt
            : queue_.size() >= options_.maxQueued ? std::optional(SubmitError::QueueFull)
            : request.share.maxQueued && queue_.sizeOf(tenant) >= *request.share.maxQueued
                ? std::optional(SubmitError::TenantQueueFull)
                : std::nullopt;
        if (refusal)
        {
            lock.unlock();
            dropFiles();
            events_.refused(*refusal, client, tenant);
            return *refusal;
        }
        newWarmTenant = warmTenants_.empty() || warmTenants_.front() != tenant;
        touchWarmTenantLocked(tenant);
        Entry entry;
        entry.run.tenant = tenant;
        // Stored so: a restart that starts the run again finds its requirements' environment.
        request.environment = environmentOf(request);
        entry.run.environment = request.environment;
        // A run with requirements has an environment of its own, which no warm unit runs.
        const auto warm = slotFree && fitsWarmUnit(request, options_.warmLimits)
                              ? takeWarmLocked(entry.run.environment, {tenant, request.share.caps})
                              : std::nullopt;
        entry.run.id = filesId.value_or(warm.value_or(newRunId()));
        entry.run.unit = sandbox_.unitName(entry.run.id);
        entry.run.limits = request.limits;
        entry.run.callbackUrl = request.callbackUrl;
        entry.run.createdAt = Clock::now();
        // Durable before the client hears the run was accepted.
        try
        {
            store_.insert(entry.run, request);
        }
        catch (const std::exception& error)
        {
            lock.unlock();
            dropFiles();
            events_.failed(entry.run.id,
                           std::string("The run store could not take the run: ") + error.what());
            throw;
        }
        entry.client = client;
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
            queue_.push(tenant, stored.run.id, stored.run.createdAt);
        }
        snapshot = stored.run;
    }
    events_.accepted(snapshot, client);
    if (now)
    {
        launch(std::move(*now));
    }
    if (newWarmTenant)
    {
        handOver({}, [this] { fillWarmPools(); });
    }
    return Submitted{viewOf(snapshot)};
}

RunManager::Launch RunManager::takeForLaunch(Entry& entry)
{
    ++running_;
    ++runningByTenant_[entry.run.tenant];
    entry.launched = true;
    Launch run;
    run.id = entry.run.id;
    run.code = entry.request->code;
    run.stdinData = entry.request->stdinData;
    run.args = entry.request->args;
    run.environment = entry.request->environment;
    run.requirements = entry.request->requirements;
    run.limits = entry.run.limits;
    run.entry = entry.request->entry;
    run.slice = {entry.run.tenant, shares_[entry.run.tenant].caps};
    if (entry.request->hasFiles && options_.filesIn)
    {
        run.filesIn = options_.filesIn->open(run.id);
    }
    return run;
}

void RunManager::enqueueLocked(const Entry& entry)
{
    queue_.push(entry.run.tenant, entry.run.id, entry.run.createdAt);
}

void RunManager::endedLocked(const std::string& tenant)
{
    --running_;
    if (const auto count = runningByTenant_.find(tenant);
        count != runningByTenant_.end() && --count->second == 0)
    {
        runningByTenant_.erase(count);
    }
}

std::vector<RunManager::Launch> RunManager::launchesFromQueue()
{
    std::vector<Launch> launches;
    while (running_ < options_.maxRunning)
    {
        const auto id =
            queue_.pop([this](const std::string& tenant) { return runningOf(tenant); },
                       [this](const std::string& tenant) { return mayStartLocked(tenant); });
        if (!id)
        {
            break;
        }
        launches.push_back(takeForLaunch(runs_.at(*id)));
    }
    return launches;
}

SandboxCallbacks RunManager::callbacksFor(const std::string& id)
{
    SandboxCallbacks callbacks;
    callbacks.onStarted = [this, id] { handOver(id, [this, id] { markStarted(id); }); };
    callbacks.onExited = [this, id](UnitOutcome outcome) {
        handOver(id, [this, id, outcome = std::move(outcome)] { finish(id, outcome); });
    };
    return callbacks;
}

void RunManager::launch(Launch run)
{
    const auto id = run.id;
    sandbox_.start(std::move(run), callbacksFor(id));
}

void RunManager::markStarted(const std::string& id)
{
    Run snapshot;
    std::string client;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end() || isFinal(it->second.run.status))
        {
            return;
        }
        auto& entry = it->second;
        entry.run.status = RunStatus::Running;
        entry.run.startedAt = Clock::now();
        entry.request.reset();
        store_.update(entry.run);
        store_.dropRequest(id);
        // The broker copied them into the run's directory before it started the unit.
        if (options_.filesIn)
        {
            options_.filesIn->remove(id);
        }
        snapshot = entry.run;
        client = entry.client;
    }
    events_.started(snapshot, client);
}

bool RunManager::restartVanished(const std::string& id)
{
    std::vector<Launch> next;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end() || !it->second.request || it->second.cancelRequested)
        {
            return false;
        }
        endedLocked(it->second.run.tenant);
        it->second.launched = false;
        enqueueLocked(it->second);
        next = launchesFromQueue();
    }
    for (auto& run : next)
    {
        launch(std::move(run));
    }
    return true;
}

void RunManager::finish(const std::string& id, const UnitOutcome& outcome)
{
    if (outcome.vanished && restartVanished(id))
    {
        return;
    }
    Evidence evidence;
    evidence.unit = outcome;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it == runs_.end())
        {
            return;
        }
        evidence.limits = it->second.run.limits;
        evidence.cancelRequested = it->second.cancelRequested;
    }
    // The run's processes are gone, so nothing writes these files any more.
    evidence.cgroup = files_.cgroupStats(id);
    const auto stdoutRead = files_.read(id, RunFiles::stdoutName, evidence.limits.outputBytes);
    const auto stderrRead = files_.read(id, RunFiles::stderrName, evidence.limits.outputBytes);
    evidence.stdoutBytes = stdoutRead.size;
    evidence.stderrBytes = stderrRead.size;
    auto collected = collectedFiles(id);
    evidence.filesTruncated = collected.truncated;
    const auto verdict = decideVerdict(evidence);
    if (options_.filesIn)
    {
        // A run that never started still has them here.
        options_.filesIn->remove(id);
    }
    const auto end = verdict.durationMs ? UnitEnd{} : files_.unitEnd(id);

    Ending ending;
    std::vector<Launch> next;
    {
        const std::lock_guard lock(mutex_);
        auto& entry = runs_.at(id);
        auto& run = entry.run;
        run.status = verdict.status;
        run.exitCode = verdict.exitCode;
        run.signal = verdict.signal;
        run.durationMs = verdict.durationMs ? verdict.durationMs : durationFromRecord(run, end);
        run.cpuTimeMs = verdict.cpuTimeMs;
        run.memoryPeakBytes = verdict.memoryPeakBytes;
        run.error = verdict.error;
        run.stdoutTruncated = evidence.stdoutBytes > run.limits.outputBytes;
        run.stderrTruncated = evidence.stderrBytes > run.limits.outputBytes;
        if (!run.finishedAt)
        {
            run.finishedAt = Clock::now();
        }
        run.files = std::move(collected.files);
        run.filesSkipped = std::move(collected.skipped);
        run.filesTruncated = collected.truncated;
        endedLocked(run.tenant);
        ending = endLocked(entry, evidence.stdoutBytes + evidence.stderrBytes + collected.bytes);
        ending.output = RunOutput{stdoutRead.data, stderrRead.data};
        next = launchesFromQueue();
    }
    announce(ending);
    for (auto& run : next)
    {
        launch(std::move(run));
    }
    // A warm unit's replacement starts once the run it served has ended, not while it runs,
    // so that starting a unit does not take the CPUs from the run.
    fillWarmPools();
}

RunManager::Collected RunManager::collectedFiles(const std::string& id) const
{
    Collected collected;
    const auto manifest = files_.filesManifest(id);
    if (!manifest)
    {
        // None written: the unit never started, or its collector could not write (the run's
        // directory gone); nothing is listed that cannot be served.
        return collected;
    }
    collected.truncated = manifest->truncated;
    collected.skipped = manifest->skipped;
    for (const auto& file : manifest->files)
    {
        const auto copy = files_.openCollected(id, file.index);
        const auto digest = copy ? sha256HexOfFile(copy.get()) : std::nullopt;
        if (!digest)
        {
            collected.skipped.push_back({file.path, "unreadable"});
            continue;
        }
        collected.files.push_back({file.path, file.size, *digest, file.index});
        collected.bytes += file.size;
    }
    return collected;
}

std::optional<std::string> RunManager::collectedFile(const std::string& id,
                                                     std::uint32_t index) const
{
    const auto copy = files_.openCollected(id, index);
    if (!copy)
    {
        return std::nullopt;
    }
    std::string bytes;
    constexpr std::size_t chunkBytes = 256UL * 1024UL;
    std::string chunk(chunkBytes, '\0');
    for (;;)
    {
        const auto n = ::read(copy.get(), chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            return std::nullopt;
        }
        if (n == 0)
        {
            return bytes;
        }
        bytes.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

RunManager::Ending RunManager::endLocked(Entry& entry, std::uint64_t outputBytes)
{
    store_.finish(entry.run, outputBytes);
    Ending ending{entry.run, std::exchange(entry.waiters, {}), entry.client, std::nullopt};
    runs_.erase(ending.run.id);
    return ending;
}

void RunManager::announce(const Ending& ending)
{
    events_.finished(ending.run, ending.client);
    if (ending.waiters.empty())
    {
        return;
    }
    const auto view = ending.output ? RunView{ending.run, *ending.output} : viewOf(ending.run);
    for (const auto& waiter : ending.waiters)
    {
        waiter(view);
    }
}

RunView viewWithOutput(const Run& run, const RunFiles& files)
{
    RunView view{run, {}};
    const auto limit = run.limits.outputBytes;
    view.output.stdoutData = files.read(run.id, RunFiles::stdoutName, limit).data;
    view.output.stderrData = files.read(run.id, RunFiles::stderrName, limit).data;
    return view;
}

RunView RunManager::viewOf(const Run& run) const
{
    return viewWithOutput(run, files_);
}

std::optional<Run> RunManager::runOf(const std::string& id) const
{
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it != runs_.end())
        {
            return it->second.run;
        }
    }
    return store_.find(id);
}

std::optional<RunView> RunManager::find(const std::string& id) const
{
    const auto run = runOf(id);
    return run ? std::optional(viewOf(*run)) : std::nullopt;
}

std::optional<std::string> RunManager::ownerOf(const std::string& id) const
{
    return store_.tenantOf(id);
}

std::optional<std::string> RunManager::output(const std::string& id, Stream stream) const
{
    const auto run = runOf(id);
    if (!run)
    {
        return std::nullopt;
    }
    return files_.read(id, fileOf(stream), run->limits.outputBytes).data;
}

std::optional<RunSnapshot> RunManager::snapshot(const std::string& id) const
{
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it != runs_.end())
        {
            // Even a run cancelled already is not over until its unit is gone.
            return RunSnapshot{it->second.run, false};
        }
    }
    auto run = store_.find(id);
    return run ? std::optional(RunSnapshot{std::move(*run), true}) : std::nullopt;
}

UniqueFd RunManager::openOutput(const std::string& id, Stream stream) const
{
    return files_.open(id, fileOf(stream));
}

std::optional<RunView> RunManager::cancel(const std::string& id)
{
    std::optional<Ending> ending;
    bool kill = false;
    Run snapshot;
    {
        const std::lock_guard lock(mutex_);
        const auto it = runs_.find(id);
        if (it != runs_.end())
        {
            auto& entry = it->second;
            entry.cancelRequested = true;
            entry.run.status = RunStatus::Cancelled;
            entry.run.finishedAt = Clock::now();
            snapshot = entry.run;
            if (entry.launched)
            {
                // The slot frees when the unit is really gone; finish() fills in the rest and
                // stores it. Until then the store keeps the run unfinished, so that a restart
                // in between still follows its unit.
                kill = true;
            }
            else
            {
                queue_.remove(id);
                ending = endLocked(entry, 0);
            }
        }
    }
    if (!kill && !ending)
    {
        // Already final (or unknown): cancelling again changes nothing.
        const auto run = runOf(id);
        return run ? std::optional(viewOf(*run)) : std::nullopt;
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
    Health health{sandbox_.reachable(),
                  running_,
                  queue_.size(),
                  options_.maxRunning,
                  options_.maxQueued,
                  sandbox_.layers(),
                  {},
                  {}};
    for (const auto& pool : options_.warmPools)
    {
        health.warm[pool.first] = {};
    }
    for (const auto& unit : warm_)
    {
        if (!unit.retired)
        {
            auto& count = health.warm[unit.environment];
            ++(unit.ready ? count.ready : count.starting);
        }
    }
    for (const auto& [tenant, running] : runningByTenant_)
    {
        health.tenants[tenant].running = running;
    }
    for (const auto& [tenant, queued] : queue_.sizes())
    {
        health.tenants[tenant].queued = queued;
    }
    return health;
}

std::vector<Environment> RunManager::environments() const
{
    auto known = sandbox_.environments();
    if (known.empty())
    {
        // Not heard from the privileged side yet: the default environment is always there.
        Environment plain;
        plain.name = std::string(defaultEnvironment);
        known.push_back(plain);
    }
    return known;
}

unsigned RunManager::retryAfterSeconds() const
{
    return minRetryAfterSeconds;
}

} // namespace pyrunner::core
