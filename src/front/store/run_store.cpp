#include "front/store/run_store.hpp"

#include "common/fd.hpp"
#include "front/store/sqlite.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <limits>
#include <span>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <type_traits>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

// Version 1 of the schema, written once into a new file: any change to it needs a new
// RunStore::schemaVersion and a migration. Integers are SQLite's signed 64 bits, times
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

// The runs isFinal() calls unfinished, in the words of the schema's partial indexes, which
// the query planner uses only for a query that says the same (the tests check that these
// names agree with toString()).
constexpr std::string_view unfinishedRuns = "status IN ('queued', 'running')";
constexpr std::string_view finishedRuns = "status NOT IN ('queued', 'running')";

// Run's columns: readRun reads them in this order, bindRun binds each as :<column>.
constexpr std::array<std::string_view, 21> runColumns{
    "id",
    "status",
    "exit_code",
    "signal",
    "stdout_truncated",
    "stderr_truncated",
    "duration_ms",
    "cpu_time_ms",
    "memory_peak_bytes",
    "unit",
    "environment",
    "created_at",
    "started_at",
    "finished_at",
    "error",
    "wall_time_s",
    "cpu_time_s",
    "memory_mb",
    "cpu_percent",
    "tasks",
    "output_limit_bytes",
};

// RunRequest's columns (run_id aside), likewise for readRequest and bindRequest.
constexpr std::array<std::string_view, 11> requestColumns{
    "code",      "stdin",       "args",  "environment",        "wait", "wall_time_s", "cpu_time_s",
    "memory_mb", "cpu_percent", "tasks", "output_limit_bytes",
};

template <typename Format>
std::string commaList(std::span<const std::string_view> columns, Format format)
{
    std::string list;
    for (const auto column : columns)
    {
        if (!list.empty())
        {
            list += ", ";
        }
        list += format(std::string(column));
    }
    return list;
}

std::string names(std::span<const std::string_view> columns)
{
    return commaList(columns, [](const std::string& column) { return column; });
}

std::string qualifiedNames(const std::string& table, std::span<const std::string_view> columns)
{
    return commaList(columns, [&table](const std::string& column) { return table + "." + column; });
}

std::string parameters(std::span<const std::string_view> columns)
{
    return commaList(columns, [](const std::string& column) { return ":" + column; });
}

// "status = :status, ..." for every column but the first, the id the row is found by.
std::string assignments(std::span<const std::string_view> columns)
{
    return commaList(columns.subspan(1),
                     [](const std::string& column) { return column + " = :" + column; });
}

// std::optional::transform, which C++20 lacks.
template <typename T, typename Convert>
auto transformed(const std::optional<T>& value, Convert convert)
    -> std::optional<std::invoke_result_t<Convert, const T&>>
{
    if (!value)
    {
        return std::nullopt;
    }
    return convert(*value);
}

// Unsigned values keep their bit pattern in SQLite's signed integers, so even those above
// 2^63 come back exactly. SQL only adds up output_bytes, sizes of real files, far below.
std::int64_t toInteger(std::uint64_t value)
{
    return static_cast<std::int64_t>(value);
}

std::uint64_t toUnsigned(std::int64_t value)
{
    return static_cast<std::uint64_t>(value);
}

std::int64_t toMicros(TimePoint time)
{
    return std::chrono::floor<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint fromMicros(std::int64_t micros)
{
    return TimePoint(std::chrono::microseconds(micros));
}

// args as one blob: each argument's length (8 bytes, big-endian), then its bytes. Not JSON:
// this is exact for any bytes, where JSON needs UTF-8 (core does not count on the HTTP
// layer having checked that), and it keeps the core library free of a JSON dependency.
constexpr std::size_t argLengthBytes = 8;
constexpr unsigned bitsPerByte = 8;
constexpr unsigned byteMask = 0xffU;

std::string encodeArgs(const std::vector<std::string>& args)
{
    std::string blob;
    for (const auto& arg : args)
    {
        const std::uint64_t length = arg.size();
        for (std::size_t i = argLengthBytes; i-- > 0;)
        {
            blob.push_back(static_cast<char>((length >> (bitsPerByte * i)) & byteMask));
        }
        blob += arg;
    }
    return blob;
}

// Nothing if the blob is not what encodeArgs makes.
std::optional<std::vector<std::string>> decodeArgs(std::string_view blob)
{
    std::vector<std::string> args;
    while (!blob.empty())
    {
        if (blob.size() < argLengthBytes)
        {
            return std::nullopt;
        }
        std::uint64_t length = 0;
        for (std::size_t i = 0; i < argLengthBytes; ++i)
        {
            length = (length << bitsPerByte) | static_cast<unsigned char>(blob[i]);
        }
        blob.remove_prefix(argLengthBytes);
        if (length > blob.size())
        {
            return std::nullopt;
        }
        args.emplace_back(blob.substr(0, length));
        blob.remove_prefix(length);
    }
    return args;
}

void bindOptionalInteger(sqlite::Statement& statement, const char* name,
                         const std::optional<std::int64_t>& value)
{
    if (value)
    {
        statement.bindInteger(name, *value);
    }
    else
    {
        statement.bindNull(name);
    }
}

void bindOptionalReal(sqlite::Statement& statement, const char* name,
                      const std::optional<double>& value)
{
    if (value)
    {
        statement.bindReal(name, *value);
    }
    else
    {
        statement.bindNull(name);
    }
}

void bindOptionalText(sqlite::Statement& statement, const char* name,
                      const std::optional<std::string>& value)
{
    if (value)
    {
        statement.bindText(name, *value);
    }
    else
    {
        statement.bindNull(name);
    }
}

void bindLimits(sqlite::Statement& statement, const Limits& limits)
{
    statement.bindInteger(":wall_time_s", limits.wallTimeS);
    statement.bindInteger(":cpu_time_s", limits.cpuTimeS);
    statement.bindInteger(":memory_mb", limits.memoryMb);
    statement.bindInteger(":cpu_percent", limits.cpuPercent);
    statement.bindInteger(":tasks", limits.tasks);
    statement.bindInteger(":output_limit_bytes", toInteger(limits.outputBytes));
}

void bindRun(sqlite::Statement& statement, const Run& run)
{
    statement.bindText(":id", run.id);
    statement.bindText(":status", toString(run.status));
    bindOptionalInteger(statement, ":exit_code", run.exitCode);
    bindOptionalText(statement, ":signal", run.signal);
    statement.bindInteger(":stdout_truncated", run.stdoutTruncated ? 1 : 0);
    statement.bindInteger(":stderr_truncated", run.stderrTruncated ? 1 : 0);
    bindOptionalReal(statement, ":duration_ms", run.durationMs);
    bindOptionalReal(statement, ":cpu_time_ms", run.cpuTimeMs);
    bindOptionalInteger(statement, ":memory_peak_bytes",
                        transformed(run.memoryPeakBytes, toInteger));
    statement.bindText(":unit", run.unit);
    statement.bindText(":environment", run.environment);
    statement.bindInteger(":created_at", toMicros(run.createdAt));
    bindOptionalInteger(statement, ":started_at", transformed(run.startedAt, toMicros));
    bindOptionalInteger(statement, ":finished_at", transformed(run.finishedAt, toMicros));
    bindOptionalText(statement, ":error", run.error);
    bindLimits(statement, run.limits);
}

void bindRequest(sqlite::Statement& statement, const RunRequest& request)
{
    statement.bindBlob(":code", request.code);
    statement.bindBlob(":stdin", request.stdinData);
    statement.bindBlob(":args", encodeArgs(request.args));
    statement.bindText(":environment", request.environment);
    statement.bindInteger(":wait", request.wait ? 1 : 0);
    bindLimits(statement, request.limits);
}

// The columns of a statement's current row, read one after another in the order the
// query selects them.
class Row
{
  public:
    explicit Row(const sqlite::Statement& statement) : statement_(statement) {}

    std::int64_t integer() { return statement_.integer(next_++); }
    double real() { return statement_.real(next_++); }
    std::string text() { return statement_.text(next_++); }
    std::string blob() { return statement_.blob(next_++); }

    std::optional<std::int64_t> optionalInteger()
    {
        if (skipNull())
        {
            return std::nullopt;
        }
        return integer();
    }
    std::optional<double> optionalReal()
    {
        if (skipNull())
        {
            return std::nullopt;
        }
        return real();
    }
    std::optional<std::string> optionalText()
    {
        if (skipNull())
        {
            return std::nullopt;
        }
        return text();
    }

  private:
    bool skipNull()
    {
        if (!statement_.isNull(next_))
        {
            return false;
        }
        ++next_;
        return true;
    }

    const sqlite::Statement& statement_;
    int next_ = 0;
};

std::uint32_t smallInteger(Row& row)
{
    return static_cast<std::uint32_t>(row.integer());
}

Limits readLimits(Row& row)
{
    Limits limits;
    limits.wallTimeS = smallInteger(row);
    limits.cpuTimeS = smallInteger(row);
    limits.memoryMb = smallInteger(row);
    limits.cpuPercent = smallInteger(row);
    limits.tasks = smallInteger(row);
    limits.outputBytes = toUnsigned(row.integer());
    return limits;
}

Run readRun(Row& row, const std::string& file)
{
    Run run;
    run.id = row.text();
    const auto status = row.text();
    const auto parsed = parseRunStatus(status);
    if (!parsed)
    {
        throw std::runtime_error(file + ": run " + run.id + " has an unknown status '" + status +
                                 "'");
    }
    run.status = *parsed;
    run.exitCode = transformed(row.optionalInteger(),
                               [](std::int64_t code) { return static_cast<int>(code); });
    run.signal = row.optionalText();
    run.stdoutTruncated = row.integer() != 0;
    run.stderrTruncated = row.integer() != 0;
    run.durationMs = row.optionalReal();
    run.cpuTimeMs = row.optionalReal();
    run.memoryPeakBytes = transformed(row.optionalInteger(), toUnsigned);
    run.unit = row.text();
    run.environment = row.text();
    run.createdAt = fromMicros(row.integer());
    run.startedAt = transformed(row.optionalInteger(), fromMicros);
    run.finishedAt = transformed(row.optionalInteger(), fromMicros);
    run.error = row.optionalText();
    run.limits = readLimits(row);
    return run;
}

RunRequest readRequest(Row& row, const std::string& file, const std::string& runId)
{
    RunRequest request;
    request.code = row.blob();
    request.stdinData = row.blob();
    auto args = decodeArgs(row.blob());
    if (!args)
    {
        throw std::runtime_error(file + ": run " + runId + " has malformed args");
    }
    request.args = std::move(*args);
    request.environment = row.text();
    request.wait = row.integer() != 0;
    request.limits = readLimits(row);
    return request;
}

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

// Creates the schema in a new file and refuses one a newer pyrunner wrote, before anything
// in it is touched.
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
    if (version == 0)
    {
        db.execute(schemaV1);
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
    sqlite::Statement unfinished;
    sqlite::Statement expired;
    sqlite::Statement oldestFinish;
    sqlite::Statement deleteRun;
    sqlite::Statement count;
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
      deleteRun(db, "DELETE FROM runs WHERE id = :id"), count(db, "SELECT COUNT(*) FROM runs")
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

std::size_t RunStore::count() const
{
    const std::lock_guard lock(mutex_);
    auto& statement = statements_->count;
    const sqlite::Use use(statement);
    statement.step();
    return static_cast<std::size_t>(statement.integer(0));
}

} // namespace pyrunner::core
