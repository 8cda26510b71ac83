#pragma once

#include "front/store/run.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pyrunner::core
{

namespace sqlite
{
class Database;
} // namespace sqlite

// A run as stored: the API state, plus what is needed to start it while it has not started.
struct StoredRun
{
    Run run;
    // The submission (code, stdin, args, environment, limits) while the run may still need
    // starting; dropped once its unit has started (dropRequest) to save space.
    std::optional<RunRequest> request;
    // Bytes the run's output files take on disk, known once it has finished.
    std::uint64_t outputBytes = 0;
};

// The front's runs in an SQLite database, so that every accepted run survives a crash and a
// restart (see docs/storage.md). Times are kept to the microsecond. A run in a final status
// must have its finishedAt (the schema refuses it otherwise), since retention goes by it.
// Every failure throws std::runtime_error naming the file.
class RunStore
{
  public:
    // Opens or creates the database file (its directory must exist); WAL journal,
    // synchronous=FULL so that an insert that returned survives a power loss; a schema
    // version (PRAGMA user_version) checked on open: a newer one is refused with a clear
    // std::runtime_error naming the file. Thread-safe: every method may be called from any
    // thread.
    explicit RunStore(const std::filesystem::path& file);
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;
    RunStore(RunStore&&) = delete;
    RunStore& operator=(RunStore&&) = delete;
    ~RunStore();

    // Durable when it returns. An id already stored is refused.
    void insert(const Run& run, const RunRequest& request);
    // Every field of Run (status, timestamps, verdict, error...). An id no longer stored
    // (erased meanwhile) is ignored, as by finish and dropRequest.
    void update(const Run& run);
    // update + outputBytes + drops the request, one transaction; a run with a callbackUrl has
    // its callback pending from then on, due at once.
    void finish(const Run& run, std::uint64_t outputBytes);
    void dropRequest(const std::string& id);
    std::optional<Run> find(const std::string& id) const;
    // The tenant of the run `id`; one index lookup whether or not it is there.
    std::optional<std::string> tenantOf(const std::string& id) const;
    // The tenants that submitted last, the latest first, at most `limit`.
    std::vector<std::string> recentTenants(std::size_t limit) const;
    // Runs not in a final status (queued or running), oldest createdAt first, each with its
    // request when still kept.
    std::vector<StoredRun> unfinished() const;
    // Finished runs to delete: those finished before `cutoff`, then the oldest finished
    // others until the output of those kept totals at most budgetBytes. Never a run that is
    // not final. Oldest first.
    std::vector<std::string> expired(TimePoint cutoff, std::uint64_t budgetBytes) const;
    // When the oldest finished run finished, if any (to know when to look again).
    std::optional<TimePoint> oldestFinish() const;
    // Forgets the run and its request.
    void erase(const std::string& id);
    std::size_t count() const;

    // Pending callbacks due at `now`, the longest due first, at most `limit`.
    std::vector<DueCallback> dueCallbacks(TimePoint now, std::size_t limit) const;
    // When the next pending callback is due, if one is pending.
    std::optional<TimePoint> nextCallbackDue() const;
    // Where the callback of `runId` stands after an attempt; nextAttemptAt matters while it is
    // pending. A run no longer stored is ignored.
    void recordCallback(const std::string& runId, CallbackState state, unsigned attempts,
                        TimePoint nextAttemptAt);
    // The state of the callback of `runId` and the attempts made; nothing before it ended or
    // for a run without one.
    std::optional<std::pair<CallbackState, unsigned>> callbackOf(const std::string& runId) const;

    // The schema this build writes; an older file is migrated on open, a newer one refused.
    // 2: disk_mb. 3: files in and out. 4: tenants. 5: callbacks.
    static constexpr int schemaVersion = 5;

  private:
    // Every statement the store runs, prepared once the schema is there.
    struct Statements;

    // Guards db_ and statements_: an SQLite connection is for one thread at a time.
    mutable std::mutex mutex_;
    std::unique_ptr<sqlite::Database> db_;
    std::unique_ptr<Statements> statements_;
};

} // namespace pyrunner::core
