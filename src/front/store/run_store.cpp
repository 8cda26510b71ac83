#include "front/store/run_store.hpp"

#include "common/fd.hpp"
#include "front/store/run_rows.hpp"
#include "front/store/sqlite.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <limits>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

using namespace rows;

// Version 1 of the schema, as pyrunner first wrote it; later versions are steps from it (see
// migrations below), never edits to it. Integers are SQLite's signed 64 bits, times
// microseconds since the epoch, an absent optional NULL. STRICT: a value of the wrong type
// is refused, never converted.
constexpr const char* schemaV1 = R"(
CREATE TABLE runs (
    id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    signal TEXT,
    stdout_truncated INTEGER NOT NULL,
    stderr_truncated INTEGER NOT NULL,
    duration_ms REAL,
    cpu_time_ms REAL,
    memory_peak_bytes INTEGER,
    unit TEXT NOT NULL,
    environment TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT,
    wall_time_s INTEGER NOT NULL,
    cpu_time_s INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    cpu_percent INTEGER NOT NULL,
    tasks INTEGER NOT NULL,
    output_limit_bytes INTEGER NOT NULL,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    -- Retention goes by finished_at: a finished run without it would be kept for ever.
    CHECK (status IN ('queued', 'running') OR finished_at IS NOT NULL)
) STRICT;
-- unfinished(): the few runs still queued or running, oldest first.
CREATE INDEX runs_unfinished ON runs (created_at) WHERE status IN ('queued', 'running');
-- expired() and oldestFinish(): the finished runs by when they finished.
CREATE INDEX runs_finished ON runs (finished_at) WHERE status NOT IN ('queued', 'running');
-- A run's submission, kept until its unit has started; it goes with its run.
CREATE TABLE requests (
    run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    code BLOB NOT NULL,
    stdin BLOB NOT NULL,
    args BLOB NOT NULL,
    environment TEXT NOT NULL,
    wait INTEGER NOT NULL,
    wall_time_s INTEGER NOT NULL,
    cpu_time_s INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    cpu_percent INTEGER NOT NULL,
    tasks INTEGER NOT NULL,
    output_limit_bytes INTEGER NOT NULL
) STRICT;
)";

// Version 2: the limit disk_mb. Rows stored before it existed take 512, its built-in default,
// so a run still queued across the upgrade starts with the space a new run gets by default.
constexpr const char* schemaV1ToV2 = R"(
ALTER TABLE runs ADD COLUMN disk_mb INTEGER NOT NULL DEFAULT 512;
ALTER TABLE requests ADD COLUMN disk_mb INTEGER NOT NULL DEFAULT 512;
)";

// Version 3: files in and out. Rows stored before it took no files, and ran with the limits'
// built-in defaults for them.
constexpr const char* schemaV2ToV3 = R"(
ALTER TABLE runs ADD COLUMN files_count INTEGER NOT NULL DEFAULT 100;
ALTER TABLE runs ADD COLUMN files_bytes INTEGER NOT NULL DEFAULT 16777216;
ALTER TABLE runs ADD COLUMN files TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN files_count INTEGER NOT NULL DEFAULT 100;
ALTER TABLE requests ADD COLUMN files_bytes INTEGER NOT NULL DEFAULT 16777216;
ALTER TABLE requests ADD COLUMN entry TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN has_files INTEGER NOT NULL DEFAULT 0;
)";

// Version 4: tenants. Rows stored before it belong to no tenant: only an admin token sees
// them.
constexpr const char* schemaV3ToV4 = R"(
ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
)";

// Version 5: callbacks. A run's callback_url, and for each finished run that has one, where its
// delivery stands: written in the transaction that makes the run final, so that no crash
// between the two loses it. It goes with its run.
constexpr const char* schemaV4ToV5 = R"(
ALTER TABLE runs ADD COLUMN callback_url TEXT;
CREATE TABLE callbacks (
    run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL
) STRICT;
-- dueCallbacks() and nextCallbackDue(): the few still to attempt, by when.
CREATE INDEX callbacks_pending ON callbacks (next_attempt_at) WHERE state = 'pending';
)";

// migrations[v] takes a file from version v to v + 1; a new file is version 0 and takes them
// all, so that it ends up exactly like an old one brought up to date.
constexpr std::array<const char*, RunStore::schemaVersion> migrations{
    schemaV1, schemaV1ToV2, schemaV2ToV3, schemaV3ToV4, schemaV4ToV5};

std::string_view stateName(CallbackState state)
{
    switch (state)
    {
    case CallbackState::Pending:
        return "pending";
    case CallbackState::Delivered:
        return "delivered";
    case CallbackState::Failed:
        return "failed";
    }
    return "failed";
}

std::optional<CallbackState> parseState(std::string_view text)
{
    for (const auto state :
         {CallbackState::Pending, CallbackState::Delivered, CallbackState::Failed})
    {
        if (stateName(state) == text)
        {
            return state;
        }
    }
    return std::nullopt;
}

// The runs isFinal() calls unfinished, in the words of the schema's partial indexes, which
// the query planner uses only for a query that says the same (the tests check that these
// names agree with toString()).
constexpr std::string_view unfinishedRuns = "status IN ('queued', 'running')";
constexpr std::string_view finishedRuns = "status NOT IN ('queued', 'running')";

// Binds with `bind`, runs a statement that yields no rows, and resets it.
template <typename Bind> void runWith(sqlite::Statement& statement, Bind bind)
{
    const sqlite::Use use(statement);
    bind(statement);
    statement.run();
}

[[noreturn]] void throwErrno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

// The file holds the runs' code and stdin, so it is the front's alone: 0600 whatever its
// mode was, and SQLite gives its -wal and -shm files the same mode. Not by umask, which is
// the whole process's and so not for changing while other threads run.
void createPrivateFile(const std::filesystem::path& file)
{
    constexpr mode_t privateMode = 0600;
    const UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, privateMode));
    if (!fd || ::fchmod(fd.get(), privateMode) != 0)
    {
        throwErrno("cannot create " + file.string());
    }
    // A new file's name must survive a power loss as surely as what SQLite writes into it.
    const auto dirPath = file.has_parent_path() ? file.parent_path() : ".";
    const UniqueFd dir(::open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0)
    {
        throwErrno("cannot sync " + dirPath.string());
    }
}

int userVersion(const sqlite::Database& db)
{
    sqlite::Statement statement(db, "PRAGMA user_version");
    statement.step();
    return static_cast<int>(statement.integer(0));
}

// Creates the schema in a new file, brings an older one up to date, and refuses one a newer
// pyrunner wrote, before anything in it is touched. One transaction: a crash leaves the file
// at its old version with its old tables, never half migrated.
void migrate(sqlite::Database& db)
{
    sqlite::Transaction transaction(db);
    const int version = userVersion(db);
    if (version > RunStore::schemaVersion)
    {
        throw std::runtime_error(db.file() + ": schema version " + std::to_string(version) +
                                 " is newer than this pyrunner's (" +
                                 std::to_string(RunStore::schemaVersion) +
                                 "); refusing to open it");
    }
    if (version < 0)
    {
        throw std::runtime_error(db.file() + ": schema version " + std::to_string(version) +
                                 " is not one pyrunner writes; refusing to open it");
    }
    for (auto step = static_cast<std::size_t>(version); step < migrations.size(); ++step)
    {
        db.execute(migrations.at(step));
    }
    if (version < RunStore::schemaVersion)
    {
        db.execute("PRAGMA user_version = " + std::to_string(RunStore::schemaVersion));
    }
    transaction.commit();
}

// A commit appends to the write-ahead log and syncs it once; a crash at any point leaves
// either the whole transaction or none of it.
void useWriteAheadLog(const sqlite::Database& db)
{
    sqlite::Statement statement(db, "PRAGMA journal_mode = WAL");
    statement.step();
    const auto mode = statement.text(0);
    if (mode != "wal")
    {
        throw std::runtime_error(db.file() + ": cannot use a write-ahead log (journal mode " +
                                 mode + ")");
    }
}

void setUp(sqlite::Database& db)
{
    // Both are the connection's own, so set on every open. FULL syncs the log at every
    // commit, so that a commit that returned survives a power loss; foreign keys make
    // erasing a run drop its request.
    db.execute("PRAGMA synchronous = FULL");
    db.execute("PRAGMA foreign_keys = ON");
    migrate(db);
    useWriteAheadLog(db);
}

} // namespace

struct RunStore::Statements
{
    explicit Statements(const sqlite::Database& db);

    sqlite::Statement insertRun;
    sqlite::Statement insertRequest;
    sqlite::Statement updateRun;
    sqlite::Statement finishRun;
    sqlite::Statement deleteRequest;
    sqlite::Statement findRun;
    sqlite::Statement findTenant;
    sqlite::Statement recentTenants;
    sqlite::Statement unfinished;
    sqlite::Statement expired;
    sqlite::Statement oldestFinish;
    sqlite::Statement deleteRun;
    sqlite::Statement count;
    sqlite::Statement insertCallback;
    sqlite::Statement dueCallbacks;
    sqlite::Statement nextCallbackDue;
    sqlite::Statement recordCallback;
    sqlite::Statement findCallback;
};

RunStore::Statements::Statements(const sqlite::Database& db)
    : insertRun(db, "INSERT INTO runs (" + names(runColumns) + ") VALUES (" +
                        parameters(runColumns) + ")"),
      insertRequest(db, "INSERT INTO requests (run_id, " + names(requestColumns) +
                            ") VALUES (:run_id, " + parameters(requestColumns) + ")"),
      updateRun(db, "UPDATE runs SET " + assignments(runColumns) + " WHERE id = :id"),
      finishRun(db, "UPDATE runs SET " + assignments(runColumns) +
                        ", output_bytes = :output_bytes WHERE id = :id"),
      deleteRequest(db, "DELETE FROM requests WHERE run_id = :id"),
      findRun(db, "SELECT " + names(runColumns) + " FROM runs WHERE id = :id"),
      findTenant(db, "SELECT tenant FROM runs WHERE id = :id"),
      recentTenants(db, "SELECT tenant FROM runs GROUP BY tenant ORDER BY MAX(created_at) DESC "
                        "LIMIT :limit"),
      unfinished(db, "SELECT " + qualifiedNames("runs", runColumns) +
                         ", runs.output_bytes, requests.run_id IS NOT NULL, " +
                         qualifiedNames("requests", requestColumns) +
                         " FROM runs LEFT JOIN requests ON requests.run_id = runs.id WHERE " +
                         std::string(unfinishedRuns) + " ORDER BY created_at, runs.rowid"),
      // Deleting the oldest first, a run finished since the cutoff stays exactly when it and
      // every newer one fit in the budget together; kept_bytes, a running total from the
      // newest, is what they take. Runs older than the cutoff count for nothing in it.
      expired(db, "SELECT id FROM (SELECT id, finished_at, rowid AS seq, "
                  "SUM(CASE WHEN finished_at >= :cutoff THEN output_bytes ELSE 0 END) "
                  "OVER (ORDER BY finished_at DESC, rowid DESC ROWS UNBOUNDED PRECEDING) "
                  "AS kept_bytes FROM runs WHERE " +
                      std::string(finishedRuns) +
                      ") WHERE finished_at < :cutoff OR kept_bytes > :budget "
                      "ORDER BY finished_at, seq"),
      oldestFinish(db, "SELECT MIN(finished_at) FROM runs WHERE " + std::string(finishedRuns)),
      deleteRun(db, "DELETE FROM runs WHERE id = :id"), count(db, "SELECT COUNT(*) FROM runs"),
      // A run finished twice (never, but a cancel racing its end must not fail the store)
      // keeps the delivery it had.
      insertCallback(db, "INSERT OR IGNORE INTO callbacks (run_id, state, attempts, "
                         "next_attempt_at) VALUES (:id, 'pending', 0, :due)"),
      dueCallbacks(db,
                   "SELECT callbacks.run_id, runs.callback_url, runs.tenant, callbacks.attempts "
                   "FROM callbacks JOIN runs ON runs.id = callbacks.run_id "
                   "WHERE callbacks.state = 'pending' AND callbacks.next_attempt_at <= :now "
                   "AND runs.callback_url IS NOT NULL "
                   "ORDER BY callbacks.next_attempt_at, callbacks.rowid LIMIT :limit"),
      nextCallbackDue(db, "SELECT MIN(next_attempt_at) FROM callbacks WHERE state = 'pending'"),
      recordCallback(db, "UPDATE callbacks SET state = :state, attempts = :attempts, "
                         "next_attempt_at = :due WHERE run_id = :id"),
      findCallback(db, "SELECT state, attempts FROM callbacks WHERE run_id = :id")
{
}

RunStore::RunStore(const std::filesystem::path& file)
{
    createPrivateFile(file);
    db_ = std::make_unique<sqlite::Database>(file);
    setUp(*db_);
    statements_ = std::make_unique<Statements>(*db_);
}

RunStore::~RunStore() = default;

void RunStore::insert(const Run& run, const RunRequest& request)
{
    const std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(*db_);
    runWith(statements_->insertRun, [&run](sqlite::Statement& s) { bindRun(s, run); });
    runWith(statements_->insertRequest, [&](sqlite::Statement& s) {
        s.bindText(":run_id", run.id);
        bindRequest(s, request);
    });
    transaction.commit();
}

void RunStore::update(const Run& run)
{
    const std::lock_guard lock(mutex_);
    runWith(statements_->updateRun, [&run](sqlite::Statement& s) { bindRun(s, run); });
}

void RunStore::finish(const Run& run, std::uint64_t outputBytes)
{
    const std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(*db_);
    runWith(statements_->finishRun, [&](sqlite::Statement& s) {
        bindRun(s, run);
        s.bindInteger(":output_bytes", toInteger(outputBytes));
    });
    runWith(statements_->deleteRequest,
            [&run](sqlite::Statement& s) { s.bindText(":id", run.id); });
    if (run.callbackUrl)
    {
        runWith(statements_->insertCallback, [&run](sqlite::Statement& s) {
            s.bindText(":id", run.id);
            s.bindInteger(":due", toMicros(run.finishedAt.value_or(Clock::now())));
        });
    }
    transaction.commit();
}

void RunStore::dropRequest(const std::string& id)
{
    const std::lock_guard lock(mutex_);
    runWith(statements_->deleteRequest, [&id](sqlite::Statement& s) { s.bindText(":id", id); });
}

std::optional<Run> RunStore::find(const std::string& id) const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->findRun;
    const sqlite::Use use(statement);
    statement.bindText(":id", id);
    if (!statement.step())
    {
        return std::nullopt;
    }
    Row row(statement);
    return readRun(row, db_->file());
}

std::optional<std::string> RunStore::tenantOf(const std::string& id) const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->findTenant;
    const sqlite::Use use(statement);
    statement.bindText(":id", id);
    if (!statement.step())
    {
        return std::nullopt;
    }
    Row row(statement);
    return row.text();
}

std::vector<std::string> RunStore::recentTenants(std::size_t limit) const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->recentTenants;
    const sqlite::Use use(statement);
    statement.bindInteger(":limit", static_cast<std::int64_t>(limit));
    std::vector<std::string> tenants;
    while (statement.step())
    {
        Row row(statement);
        tenants.push_back(row.text());
    }
    return tenants;
}

std::vector<StoredRun> RunStore::unfinished() const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->unfinished;
    const sqlite::Use use(statement);
    std::vector<StoredRun> runs;
    while (statement.step())
    {
        Row row(statement);
        StoredRun stored;
        stored.run = readRun(row, db_->file());
        stored.outputBytes = toUnsigned(row.integer());
        if (row.integer() != 0)
        {
            stored.request = readRequest(row, db_->file(), stored.run.id);
        }
        runs.push_back(std::move(stored));
    }
    return runs;
}

std::vector<std::string> RunStore::expired(TimePoint cutoff, std::uint64_t budgetBytes) const
{
    // A budget beyond what SQLite's integers hold is no budget at all.
    constexpr auto largestBudget =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->expired;
    const sqlite::Use use(statement);
    statement.bindInteger(":cutoff", toMicros(cutoff));
    statement.bindInteger(":budget", toInteger(std::min(budgetBytes, largestBudget)));
    std::vector<std::string> ids;
    while (statement.step())
    {
        ids.push_back(statement.text(0));
    }
    return ids;
}

std::optional<TimePoint> RunStore::oldestFinish() const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->oldestFinish;
    const sqlite::Use use(statement);
    statement.step();
    Row row(statement);
    return transformed(row.optionalInteger(), fromMicros);
}

void RunStore::erase(const std::string& id)
{
    const std::lock_guard lock(mutex_);
    runWith(statements_->deleteRun, [&id](sqlite::Statement& s) { s.bindText(":id", id); });
}

std::vector<DueCallback> RunStore::dueCallbacks(TimePoint now, std::size_t limit) const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->dueCallbacks;
    const sqlite::Use use(statement);
    statement.bindInteger(":now", toMicros(now));
    statement.bindInteger(":limit", static_cast<std::int64_t>(limit));
    std::vector<DueCallback> due;
    while (statement.step())
    {
        Row row(statement);
        DueCallback callback;
        callback.runId = row.text();
        callback.url = row.text();
        callback.tenant = row.text();
        callback.attempts = static_cast<unsigned>(row.integer());
        due.push_back(std::move(callback));
    }
    return due;
}

std::optional<TimePoint> RunStore::nextCallbackDue() const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->nextCallbackDue;
    const sqlite::Use use(statement);
    statement.step();
    Row row(statement);
    return transformed(row.optionalInteger(), fromMicros);
}

void RunStore::recordCallback(const std::string& runId, CallbackState state, unsigned attempts,
                              TimePoint nextAttemptAt)
{
    const std::lock_guard lock(mutex_);
    runWith(statements_->recordCallback, [&](sqlite::Statement& s) {
        s.bindText(":id", runId);
        s.bindText(":state", stateName(state));
        s.bindInteger(":attempts", attempts);
        s.bindInteger(":due", toMicros(nextAttemptAt));
    });
}

std::optional<std::pair<CallbackState, unsigned>>
RunStore::callbackOf(const std::string& runId) const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->findCallback;
    const sqlite::Use use(statement);
    statement.bindText(":id", runId);
    if (!statement.step())
    {
        return std::nullopt;
    }
    Row row(statement);
    const auto text = row.text();
    const auto state = parseState(text);
    if (!state)
    {
        throw std::runtime_error(db_->file() + ": run " + runId +
                                 " has a callback in the unknown state '" + text + "'");
    }
    return std::pair{*state, static_cast<unsigned>(row.integer())};
}

std::size_t RunStore::count() const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->count;
    const sqlite::Use use(statement);
    statement.step();
    return static_cast<std::size_t>(statement.integer(0));
}

} // namespace pyrunner::core
