#pragma once

#include "common/run_files.hpp"
#include "common/sandbox.hpp"
#include "common/serial_worker.hpp"
#include "front/runs/fair_queue.hpp"
#include "front/runs/run_events.hpp"
#include "front/runs/run_service.hpp"
#include "front/store/files_in_store.hpp"
#include "front/store/run_store.hpp"

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pyrunner::core
{

struct RunManagerOptions
{
    std::size_t maxRunning = 1;
    std::size_t maxQueued = 64;
    // Warm units kept ready per environment name; 0 (or no entry) turns an environment's off.
    // Filled only for the shipped and operator environments the sandbox lists.
    std::map<std::string, std::size_t> warmPools;
    // The limits a warm unit's space and collector are made with when it starts: the
    // defaults. A run that asks for another disk_mb, files_count or files_bytes starts cold.
    Limits warmLimits;
    // Where the files runs bring wait for their units; none: runs bring none.
    std::shared_ptr<const FilesInStore> filesIn;
    // Warm units run in their tenant's slice, so each pool is kept per tenant: for the few
    // tenants that submitted last (maxWarmTenants), these first until others come.
    std::vector<std::string> warmTenants;
    // A tenant's share now, for runs taken over from an earlier server; nothing for a tenant
    // that is gone (its runs go on, bounded by the server's settings alone).
    std::function<std::optional<TenantShare>(const std::string&)> shareOf;
};

// How many tenants keep warm pools at once: each costs its pools' units.
inline constexpr std::size_t maxWarmTenants = 4;

// What recover() found of the runs an earlier server left.
struct Recovery
{
    // Runs whose units were followed again (still going, or ended meanwhile).
    std::size_t followed = 0;
    // Units named like runs that the store does not know: stopped.
    std::vector<std::string> strays;
};

// The run as the API shows it, with its output as far as `files` holds it (at most
// output_bytes of each stream).
RunView viewWithOutput(const Run& run, const RunFiles& files);

// The run lifecycle: admission, a bounded FIFO queue behind at most maxRunning units,
// verdicts, and the store every accepted run is written to before it is acknowledged. Runs
// not yet final live in memory as well; finished ones are read back from the store. All
// state sits behind one lock, store writes included, so they land in the order they
// happen; the sandbox and the waiters are always called without it. The sandbox's callbacks
// only hand their event to the manager's worker thread, which handles the events one at a
// time in the order they came (a run's start before its end): the thread they come on,
// which owns a bus connection, never waits for the store, the output files or the lock.
class RunManager final : public RunService
{
  public:
    RunManager(Sandbox& sandbox, const RunFiles& files, RunStore& store, RunManagerOptions options,
               RunEvents& events);

    // Takes over the runs the store holds unfinished: each is followed to its end, or
    // started (again) if it never ran; then stops units of runs the store does not know.
    // Call once, before serving.
    Recovery recover();

    std::variant<Submitted, SubmitError> submit(RunRequest request, Completion onFinal) override;
    std::optional<RunView> find(const std::string& id) const override;
    std::optional<std::string> ownerOf(const std::string& id) const override;
    std::optional<std::string> output(const std::string& id, Stream stream) const override;
    std::optional<RunSnapshot> snapshot(const std::string& id) const override;
    UniqueFd openOutput(const std::string& id, Stream stream) const override;
    std::optional<RunView> cancel(const std::string& id) override;
    std::optional<std::string> collectedFile(const std::string& id,
                                             std::uint32_t index) const override;
    Health health() const override;
    std::vector<Environment> environments() const override;
    unsigned retryAfterSeconds() const override;

    // The sandbox's environments changed: fills the pools of those that are new, on the
    // worker, as the sandbox's callbacks are.
    void environmentsChanged();
    // Returns once every event handed to the worker so far has been handled; for tests, which
    // call the sandbox's callbacks themselves.
    void waitIdle();

  private:
    struct Entry
    {
        Run run;
        // Kept until the unit has started: a run whose start was cut short by a restart
        // is started again from it.
        std::optional<RunRequest> request;
        std::vector<Completion> waiters;
        bool launched = false;
        bool cancelRequested = false;
        std::string client = {};
    };

    // A run leaving the queue for the sandbox, decided under the lock, done without it.
    using Launch = SandboxRun;
    // A run that has reached its final status, to announce without the lock.
    struct Ending
    {
        Run run;
        std::vector<Completion> waiters;
        std::string client;
        // The output as the run's end read it; read from its files when absent.
        std::optional<RunOutput> output;
    };

    Launch takeForLaunch(Entry& entry);
    void enqueueLocked(const Entry& entry);
    // A launched run of `tenant` has ended: its slot is free.
    void endedLocked(const std::string& tenant);
    std::vector<Launch> launchesFromQueue();
    void launch(Launch run);
    SandboxCallbacks callbacksFor(const std::string& id);
    // Hands an event of the run `id` (empty: of no single run) to the worker.
    void handOver(const std::string& id, std::function<void()> event);
    // Prepares warm units until each listed environment's pool of each warm tenant is full
    // again.
    void fillWarmPools();
    // `tenant` submitted: its pools are kept, those of the tenant submitting longest ago
    // retired when there are too many.
    void touchWarmTenantLocked(const std::string& tenant);
    std::size_t runningOf(const std::string& tenant) const;
    bool mayStartLocked(const std::string& tenant) const;
    void warmUnitEnded(const std::string& id, const UnitOutcome& outcome);
    void warmUnitReady(const std::string& id);
    // A ready warm unit's id for a run of `environment` in `slice`, if there is one.
    std::optional<std::string> takeWarmLocked(const std::string& environment,
                                              const TenantSlice& slice);
    void markStarted(const std::string& id);
    void finish(const std::string& id, const UnitOutcome& outcome);
    bool restartVanished(const std::string& id);
    Ending endLocked(Entry& entry, std::uint64_t outputBytes);
    // What the collector took from the run's out/ directory, each copy's digest taken here
    // (the collector, as root for every run, links no cryptography).
    struct Collected
    {
        std::vector<RunFile> files;
        std::vector<SkippedFile> skipped;
        bool truncated = false;
        std::uint64_t bytes = 0;
    };
    Collected collectedFiles(const std::string& id) const;
    void announce(const Ending& ending);
    RunView viewOf(const Run& run) const;
    std::optional<Run> runOf(const std::string& id) const;

    Sandbox& sandbox_;
    const RunFiles& files_;
    RunStore& store_;
    const RunManagerOptions options_;
    RunEvents& events_;

    mutable std::mutex mutex_;
    // Runs not yet final.
    std::unordered_map<std::string, Entry> runs_;
    FairQueue queue_;
    std::size_t running_ = 0;
    // Runs launched and not yet ended, by tenant; tenants with none are not listed.
    std::map<std::string, std::size_t> runningByTenant_;
    // Each tenant's share as its latest submission (or a restart) gave it.
    std::map<std::string, TenantShare> shares_;
    // The tenants whose pools are kept, the latest to submit first.
    std::deque<std::string> warmTenants_;
    struct WarmUnit
    {
        std::string id;
        std::string environment;
        TenantSlice slice;
        // Its process is up and waiting: a run handed to it starts at once.
        bool ready = false;
        // Its tenant's pool is no longer kept: it is being stopped, and serves no run.
        bool retired = false;
    };
    // Warm units waiting for a run, oldest first.
    std::deque<WarmUnit> warm_;
    // Per environment, its warm units that ended before their run in a row; past a few its
    // pool stops refilling rather than start units that keep failing.
    std::map<std::string, std::size_t> warmFailures_;
    // Last: it is joined, having handled every event handed over, before the rest goes.
    SerialWorker worker_;
};

} // namespace pyrunner::core
