#include "common/run_id.hpp"
#include "front/store/run_store.hpp"
#include "front/store/sqlite.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

namespace pyrunner::core
{
namespace
{

using namespace std::string_literals;
using std::chrono::microseconds;
using testing::ElementsAre;
using testing::HasSubstr;
namespace fs = std::filesystem;

constexpr std::array allStatuses{
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::TimedOut,
    RunStatus::OutOfMemory,
    RunStatus::OutputLimitExceeded,
    RunStatus::Cancelled,
    RunStatus::Error,
};

// Whole microseconds, which is what the store keeps.
TimePoint at(std::int64_t micros)
{
    return TimePoint(microseconds(micros));
}

Run queuedRun(const std::string& id, std::int64_t createdMicros)
{
    Run run;
    run.id = id;
    run.unit = "pyrunner-" + id + ".service";
    run.environment = "default";
    run.createdAt = at(createdMicros);
    return run;
}

Run finishedRun(const std::string& id, std::int64_t finishedMicros)
{
    auto run = queuedRun(id, finishedMicros - 1);
    run.status = RunStatus::Succeeded;
    run.finishedAt = at(finishedMicros);
    return run;
}

// Every field away from its default, the optionals set, bytes no text would hold.
Run everyFieldSet()
{
    Run run;
    run.id = "0123456789abcdef0123456789abcdef";
    run.status = RunStatus::TimedOut;
    run.exitCode = -9;
    run.signal = "SIGKILL";
    run.stdoutTruncated = true;
    run.stderrTruncated = true;
    run.durationMs = 1234.5678;
    run.cpuTimeMs = 0.1;
    run.memoryPeakBytes = std::numeric_limits<std::uint64_t>::max();
    run.unit = "pyrunner-0123.service";
    run.environment = "scientific";
    run.limits = Limits{.wallTimeS = 11,
                        .cpuTimeS = 12,
                        .memoryMb = 13,
                        .cpuPercent = 14,
                        .tasks = 15,
                        .outputBytes = (1ULL << 63U) + 16,
                        .diskMb = 17,
                        .filesCount = 18,
                        .filesBytes = (1ULL << 63U) + 19};
    run.createdAt = at(1'700'000'000'000'001);
    run.startedAt = at(1'700'000'000'000'002);
    run.finishedAt = at(1'700'000'000'000'003);
    run.error = "broke: \xc3\xa9\0!"s;
    run.files = {{"report.html", 12, std::string(64, 'a'), 0},
                 {"d\xc3\xa9"
                  "ep/a b.csv",
                  0, std::string(64, 'b'), 2}};
    run.filesTruncated = true;
    run.filesSkipped = {{"link", "symlink"}, {"bad\xef\xbf\xbd", "invalid_name"}};
    run.callbackUrl = "https://hooks.example/pyrunner/?run=1";
    return run;
}

RunRequest everyRequestFieldSet()
{
    RunRequest request;
    request.code = "print('h\xc3\xa9llo \xe2\x9c\x93')\0# after NUL\n"s;
    request.stdinData = "\0\xff\xfe line\r\n\0"s;
    request.args = {"", "caf\xc3\xa9", "\xff\x00z"s, "--flag=a b"};
    request.environment = "scientific";
    request.limits = Limits{.wallTimeS = 21,
                            .cpuTimeS = 22,
                            .memoryMb = 23,
                            .cpuPercent = 24,
                            .tasks = 25,
                            .outputBytes = 26,
                            .diskMb = 27,
                            .filesCount = 28,
                            .filesBytes = 29};
    request.entry = "app/m\xc3\xa9in.py";
    request.hasFiles = true;
    request.wait = false;
    return request;
}

void expectSameRun(const Run& actual, const Run& expected)
{
    EXPECT_EQ(actual.id, expected.id);
    EXPECT_EQ(actual.status, expected.status);
    EXPECT_EQ(actual.exitCode, expected.exitCode);
    EXPECT_EQ(actual.signal, expected.signal);
    EXPECT_EQ(actual.stdoutTruncated, expected.stdoutTruncated);
    EXPECT_EQ(actual.stderrTruncated, expected.stderrTruncated);
    EXPECT_EQ(actual.durationMs, expected.durationMs);
    EXPECT_EQ(actual.cpuTimeMs, expected.cpuTimeMs);
    EXPECT_EQ(actual.memoryPeakBytes, expected.memoryPeakBytes);
    EXPECT_EQ(actual.unit, expected.unit);
    EXPECT_EQ(actual.environment, expected.environment);
    EXPECT_EQ(actual.limits, expected.limits);
    EXPECT_EQ(actual.createdAt, expected.createdAt);
    EXPECT_EQ(actual.startedAt, expected.startedAt);
    EXPECT_EQ(actual.finishedAt, expected.finishedAt);
    EXPECT_EQ(actual.error, expected.error);
    // A run's files are its end's: kept once it is final.
    const bool final = isFinal(expected.status);
    EXPECT_EQ(actual.files, final ? expected.files : std::vector<RunFile>{});
    EXPECT_EQ(actual.filesTruncated, final && expected.filesTruncated);
    EXPECT_EQ(actual.filesSkipped, final ? expected.filesSkipped : std::vector<SkippedFile>{});
    EXPECT_EQ(actual.callbackUrl, expected.callbackUrl);
}

void expectSameRequest(const RunRequest& actual, const RunRequest& expected)
{
    EXPECT_EQ(actual.code, expected.code);
    EXPECT_EQ(actual.stdinData, expected.stdinData);
    EXPECT_EQ(actual.args, expected.args);
    EXPECT_EQ(actual.environment, expected.environment);
    EXPECT_EQ(actual.limits, expected.limits);
    EXPECT_EQ(actual.entry, expected.entry);
    EXPECT_EQ(actual.hasFiles, expected.hasFiles);
    EXPECT_EQ(actual.wait, expected.wait);
}

std::vector<std::string> idsOf(const std::vector<StoredRun>& runs)
{
    std::vector<std::string> ids;
    ids.reserve(runs.size());
    for (const auto& stored : runs)
    {
        ids.push_back(stored.run.id);
    }
    return ids;
}

// Version 1 of the schema, as the first pyrunner wrote it, to test migrations from it.
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
    CHECK (status IN ('queued', 'running') OR finished_at IS NOT NULL)
) STRICT;
CREATE INDEX runs_unfinished ON runs (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX runs_finished ON runs (finished_at) WHERE status NOT IN ('queued', 'running');
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

// A queued run and its request as version 1 stored them.
constexpr const char* versionOneRows = R"(
INSERT INTO runs (id, status, stdout_truncated, stderr_truncated, unit, environment,
                  created_at, wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks,
                  output_limit_bytes)
VALUES ('0123456789abcdef0123456789abcdef', 'queued', 0, 0, 'pyrunner-0123.service',
        'default', 1, 11, 12, 13, 14, 15, 16);
INSERT INTO requests (run_id, code, stdin, args, environment, wait, wall_time_s, cpu_time_s,
                      memory_mb, cpu_percent, tasks, output_limit_bytes)
VALUES ('0123456789abcdef0123456789abcdef', CAST('print(1)' AS BLOB), X'', X'', 'default',
        1, 21, 22, 23, 24, 25, 26);
)";

class RunStoreTest : public testing::Test
{
  protected:
    RunStoreTest() : dir_(fs::temp_directory_path() / ("pyrunner-store-test-" + newRunId()))
    {
        fs::create_directory(dir_);
    }
    ~RunStoreTest() override { fs::remove_all(dir_); }
    RunStoreTest(const RunStoreTest&) = delete;
    RunStoreTest& operator=(const RunStoreTest&) = delete;
    RunStoreTest(RunStoreTest&&) = delete;
    RunStoreTest& operator=(RunStoreTest&&) = delete;

    fs::path file() const { return dir_ / "runs.sqlite3"; }

    RunStore& open()
    {
        store_.reset();
        return store_.emplace(file());
    }
    void close() { store_.reset(); }

    // A file as a version 1 pyrunner left it, with `schema` in it.
    void writeVersionOne(const char* schema) const
    {
        std::ofstream(file()).flush();
        sqlite::Database db(file());
        db.execute(schema);
        db.execute("PRAGMA user_version = 1");
    }

    // Asks the file directly, beside the store, what the store does not tell.
    std::int64_t queryInteger(const std::string& sql) const
    {
        const sqlite::Database db(file());
        sqlite::Statement statement(db, sql);
        EXPECT_TRUE(statement.step());
        return statement.integer(0);
    }

    fs::path dir_;
    std::optional<RunStore> store_;
};

TEST_F(RunStoreTest, KeepsEveryFieldOfARun)
{
    auto& store = open();
    const auto run = everyFieldSet();
    store.insert(run, RunRequest{});
    const auto found = store.find(run.id);
    ASSERT_TRUE(found);
    expectSameRun(*found, run);

    // The two flags each the other way, so that neither is read as the other.
    auto flipped = everyFieldSet();
    flipped.id = "flipped";
    flipped.stdoutTruncated = false;
    store.insert(flipped, RunRequest{});
    expectSameRun(*store.find("flipped"), flipped);
}

TEST_F(RunStoreTest, UpdateRewritesEveryField)
{
    auto& store = open();
    auto run = everyFieldSet();
    store.insert(queuedRun(run.id, 1), RunRequest{});
    store.update(run);
    expectSameRun(*store.find(run.id), run);

    // And back to empty optionals.
    run = queuedRun(run.id, 2);
    store.update(run);
    expectSameRun(*store.find(run.id), run);
}

TEST_F(RunStoreTest, KeepsEveryFieldOfARequestByteForByte)
{
    auto& store = open();
    const auto request = everyRequestFieldSet();
    store.insert(queuedRun("a", 1), request);
    const auto runs = store.unfinished();
    ASSERT_EQ(runs.size(), 1U);
    ASSERT_TRUE(runs[0].request);
    expectSameRequest(*runs[0].request, request);
}

TEST_F(RunStoreTest, EmptyValuesStayEmpty)
{
    auto& store = open();
    const auto run = queuedRun("a", 1);
    RunRequest empty;
    empty.code.clear();
    empty.environment.clear();
    store.insert(run, empty);
    const auto found = store.find("a");
    ASSERT_TRUE(found);
    expectSameRun(*found, run);
    EXPECT_FALSE(found->exitCode);
    EXPECT_FALSE(found->signal);
    EXPECT_FALSE(found->durationMs);
    EXPECT_FALSE(found->cpuTimeMs);
    EXPECT_FALSE(found->memoryPeakBytes);
    EXPECT_FALSE(found->startedAt);
    EXPECT_FALSE(found->finishedAt);
    EXPECT_FALSE(found->error);
    const auto runs = store.unfinished();
    ASSERT_EQ(runs.size(), 1U);
    ASSERT_TRUE(runs[0].request);
    expectSameRequest(*runs[0].request, empty);
    EXPECT_EQ(runs[0].outputBytes, 0U);
}

TEST_F(RunStoreTest, TimesKeepWholeMicroseconds)
{
    auto& store = open();
    auto run = queuedRun("a", 0);
    run.createdAt = at(5) + std::chrono::nanoseconds(999);
    store.insert(run, RunRequest{});
    EXPECT_EQ(store.find("a")->createdAt, at(5));
}

TEST_F(RunStoreTest, StatusNamesRoundTrip)
{
    for (const auto status : allStatuses)
    {
        EXPECT_EQ(parseRunStatus(toString(status)), status);
    }
    EXPECT_FALSE(parseRunStatus(""));
    EXPECT_FALSE(parseRunStatus("Queued"));
    EXPECT_FALSE(parseRunStatus("queued "));
}

TEST_F(RunStoreTest, UnknownRunsAreNotFound)
{
    auto& store = open();
    EXPECT_FALSE(store.find("nope"));
    // Nothing to change, and nothing fails.
    store.update(queuedRun("nope", 1));
    store.finish(finishedRun("nope", 2), 1);
    store.dropRequest("nope");
    store.erase("nope");
    EXPECT_EQ(store.count(), 0U);
}

TEST_F(RunStoreTest, ReopeningKeepsEverything)
{
    const auto request = everyRequestFieldSet();
    const auto done = everyFieldSet();
    {
        auto& store = open();
        store.insert(queuedRun("q", 1), request);
        store.insert(done, request);
        store.finish(done, 4096);
        close();
    }
    auto& store = open();
    EXPECT_EQ(store.count(), 2U);
    expectSameRun(*store.find(done.id), done);
    const auto runs = store.unfinished();
    ASSERT_EQ(runs.size(), 1U);
    expectSameRun(runs[0].run, queuedRun("q", 1));
    ASSERT_TRUE(runs[0].request);
    expectSameRequest(*runs[0].request, request);
    // The finished run's size still counts against the budget.
    EXPECT_THAT(store.expired(at(0), 4095), ElementsAre(done.id));
    EXPECT_TRUE(store.expired(at(0), 4096).empty());
}

TEST_F(RunStoreTest, UnfinishedAreOldestFirstWithTheirRequestWhileKept)
{
    auto& store = open();
    RunRequest request;
    request.code = "print(1)";
    store.insert(queuedRun("c", 30), request);
    store.insert(queuedRun("a", 10), request);
    store.insert(queuedRun("b", 20), request);
    store.insert(queuedRun("d", 40), request);

    auto b = queuedRun("b", 20);
    b.status = RunStatus::Running;
    b.startedAt = at(21);
    store.update(b);
    store.dropRequest("b");
    store.finish(finishedRun("d", 41), 7);

    const auto runs = store.unfinished();
    EXPECT_EQ(idsOf(runs), (std::vector<std::string>{"a", "b", "c"}));
    ASSERT_EQ(runs.size(), 3U);
    ASSERT_TRUE(runs[0].request);
    EXPECT_EQ(runs[0].request->code, "print(1)");
    EXPECT_EQ(runs[1].run.status, RunStatus::Running);
    EXPECT_EQ(runs[1].run.startedAt, at(21));
    EXPECT_FALSE(runs[1].request);
    EXPECT_TRUE(runs[2].request);
}

TEST_F(RunStoreTest, EqualCreationTimesKeepTheOrderOfInsertion)
{
    auto& store = open();
    for (const auto* id : {"x", "y", "z"})
    {
        store.insert(queuedRun(id, 5), RunRequest{});
    }
    EXPECT_EQ(idsOf(store.unfinished()), (std::vector<std::string>{"x", "y", "z"}));
}

TEST_F(RunStoreTest, FinishStoresTheVerdictAndSizeAndDropsTheRequest)
{
    auto& store = open();
    store.insert(queuedRun("a", 1), everyRequestFieldSet());
    EXPECT_EQ(queryInteger("SELECT COUNT(*) FROM requests"), 1);

    auto run = finishedRun("a", 9);
    run.status = RunStatus::Failed;
    run.exitCode = 1;
    store.finish(run, 123);

    expectSameRun(*store.find("a"), run);
    EXPECT_TRUE(store.unfinished().empty());
    EXPECT_EQ(queryInteger("SELECT COUNT(*) FROM requests"), 0);
    EXPECT_EQ(queryInteger("SELECT output_bytes FROM runs"), 123);
}

TEST_F(RunStoreTest, FinishingARunWithACallbackMakesItPendingAtOnce)
{
    auto& store = open();
    auto run = queuedRun("a", 1);
    run.callbackUrl = "http://127.0.0.1:9000/hook";
    run.tenant = "alice";
    store.insert(run, RunRequest{});
    store.insert(queuedRun("b", 1), RunRequest{});
    EXPECT_EQ(store.callbackOf("a"), std::nullopt);
    EXPECT_TRUE(store.dueCallbacks(at(100), 10).empty());
    EXPECT_EQ(store.nextCallbackDue(), std::nullopt);

    run.status = RunStatus::Succeeded;
    run.finishedAt = at(50);
    store.finish(run, 0);
    store.finish(finishedRun("b", 50), 0);
    EXPECT_EQ(store.callbackOf("a"), std::pair(CallbackState::Pending, 0U));
    EXPECT_EQ(store.callbackOf("b"), std::nullopt);
    EXPECT_EQ(store.nextCallbackDue(), at(50));
    EXPECT_TRUE(store.dueCallbacks(at(49), 10).empty());
    EXPECT_THAT(store.dueCallbacks(at(50), 10),
                ElementsAre(DueCallback{"a", "http://127.0.0.1:9000/hook", "alice", 0}));
}

TEST_F(RunStoreTest, ACallbackAttemptedIsDueAgainOrDone)
{
    auto& store = open();
    auto run = finishedRun("a", 10);
    run.callbackUrl = "http://127.0.0.1:9000/hook";
    store.insert(queuedRun("a", 1), RunRequest{});
    store.finish(run, 0);

    store.recordCallback("a", CallbackState::Pending, 1, at(70));
    EXPECT_EQ(store.callbackOf("a"), std::pair(CallbackState::Pending, 1U));
    EXPECT_TRUE(store.dueCallbacks(at(69), 10).empty());
    ASSERT_EQ(store.dueCallbacks(at(70), 10).size(), 1U);
    EXPECT_EQ(store.dueCallbacks(at(70), 10).at(0).attempts, 1U);

    close();
    auto& reopened = open();
    EXPECT_EQ(reopened.nextCallbackDue(), at(70));
    reopened.recordCallback("a", CallbackState::Delivered, 2, at(80));
    EXPECT_EQ(reopened.callbackOf("a"), std::pair(CallbackState::Delivered, 2U));
    EXPECT_TRUE(reopened.dueCallbacks(at(1000), 10).empty());
    EXPECT_EQ(reopened.nextCallbackDue(), std::nullopt);

    // It goes with its run.
    reopened.erase("a");
    EXPECT_EQ(reopened.callbackOf("a"), std::nullopt);
    EXPECT_EQ(queryInteger("SELECT COUNT(*) FROM callbacks"), 0);
}

TEST_F(RunStoreTest, EveryStatusButQueuedAndRunningIsFinal)
{
    auto& store = open();
    std::vector<std::string> unfinished;
    std::vector<std::string> finished;
    std::int64_t time = 1;
    for (const auto status : allStatuses)
    {
        auto run = queuedRun(std::string(toString(status)), time);
        run.status = status;
        if (isFinal(status))
        {
            run.finishedAt = at(time);
            finished.push_back(run.id);
        }
        else
        {
            unfinished.push_back(run.id);
        }
        store.insert(run, RunRequest{});
        ++time;
    }
    EXPECT_EQ(idsOf(store.unfinished()), unfinished);
    EXPECT_EQ(store.expired(at(time + 1), 0), finished);
    EXPECT_EQ(store.oldestFinish(), at(3));
}

TEST_F(RunStoreTest, AFinalRunWithoutItsFinishTimeIsRefused)
{
    auto& store = open();
    auto run = queuedRun("a", 1);
    run.status = RunStatus::Succeeded;
    EXPECT_THROW(store.insert(run, RunRequest{}), std::runtime_error);
    store.insert(queuedRun("a", 1), RunRequest{});
    EXPECT_THROW(store.update(run), std::runtime_error);
    EXPECT_EQ(store.find("a")->status, RunStatus::Queued);
}

TEST_F(RunStoreTest, ExpiredByTimeOldestFirst)
{
    auto& store = open();
    store.insert(finishedRun("late", 300), RunRequest{});
    store.insert(finishedRun("early", 100), RunRequest{});
    store.insert(finishedRun("middle", 200), RunRequest{});
    const auto none = std::numeric_limits<std::uint64_t>::max();
    EXPECT_TRUE(store.expired(at(100), none).empty());
    EXPECT_THAT(store.expired(at(101), none), ElementsAre("early"));
    EXPECT_THAT(store.expired(at(250), none), ElementsAre("early", "middle"));
    EXPECT_THAT(store.expired(at(301), none), ElementsAre("early", "middle", "late"));
}

TEST_F(RunStoreTest, ExpiredByBudgetOldestFirst)
{
    auto& store = open();
    for (const auto& [id, finished, bytes] :
         {std::tuple{"r1", 100, 100}, std::tuple{"r2", 200, 50}, std::tuple{"r3", 300, 30}})
    {
        store.insert(queuedRun(id, 1), RunRequest{});
        store.finish(finishedRun(id, finished), bytes);
    }
    EXPECT_TRUE(store.expired(at(0), 180).empty());
    EXPECT_THAT(store.expired(at(0), 179), ElementsAre("r1"));
    EXPECT_THAT(store.expired(at(0), 80), ElementsAre("r1"));
    EXPECT_THAT(store.expired(at(0), 79), ElementsAre("r1", "r2"));
    EXPECT_THAT(store.expired(at(0), 0), ElementsAre("r1", "r2", "r3"));
    // Time first: r1 is too old, and then r2 does not fit beside r3.
    EXPECT_THAT(store.expired(at(150), 40), ElementsAre("r1", "r2"));
    // A run too old does not count against the budget of the others.
    EXPECT_THAT(store.expired(at(150), 80), ElementsAre("r1"));
}

TEST_F(RunStoreTest, ExpiredNeverNamesAnUnfinishedRun)
{
    auto& store = open();
    store.insert(queuedRun("queued", 1), RunRequest{});
    auto running = queuedRun("running", 2);
    running.status = RunStatus::Running;
    running.startedAt = at(3);
    store.insert(running, RunRequest{});
    store.insert(finishedRun("done", 10), RunRequest{});
    store.finish(finishedRun("done", 10), 1000);
    EXPECT_THAT(store.expired(at(1'000'000), 0), ElementsAre("done"));
}

TEST_F(RunStoreTest, OldestFinishIsThatOfTheFinishedRuns)
{
    auto& store = open();
    EXPECT_FALSE(store.oldestFinish());
    store.insert(queuedRun("queued", 1), RunRequest{});
    EXPECT_FALSE(store.oldestFinish());
    store.insert(finishedRun("b", 700), RunRequest{});
    store.insert(finishedRun("a", 500), RunRequest{});
    EXPECT_EQ(store.oldestFinish(), at(500));
    store.erase("a");
    EXPECT_EQ(store.oldestFinish(), at(700));
}

TEST_F(RunStoreTest, EraseForgetsTheRunAndItsRequest)
{
    auto& store = open();
    store.insert(queuedRun("a", 1), everyRequestFieldSet());
    store.insert(queuedRun("b", 2), RunRequest{});
    store.erase("a");
    EXPECT_FALSE(store.find("a"));
    EXPECT_EQ(store.count(), 1U);
    EXPECT_EQ(queryInteger("SELECT COUNT(*) FROM requests WHERE run_id = 'a'"), 0);
    EXPECT_EQ(idsOf(store.unfinished()), std::vector<std::string>{"b"});
}

TEST_F(RunStoreTest, ADuplicateIdIsRefusedAndChangesNothing)
{
    auto& store = open();
    store.insert(queuedRun("a", 1), RunRequest{});
    auto other = queuedRun("a", 2);
    other.unit = "other.service";
    EXPECT_THROW(store.insert(other, everyRequestFieldSet()), std::runtime_error);
    EXPECT_EQ(store.count(), 1U);
    EXPECT_EQ(store.find("a")->unit, queuedRun("a", 1).unit);
    // The store goes on working after the failed transaction.
    store.insert(queuedRun("b", 3), RunRequest{});
    EXPECT_EQ(store.count(), 2U);
}

TEST_F(RunStoreTest, TheFileIsTheOwnersAloneWhateverItsModeWas)
{
    {
        std::ofstream(file()).flush();
    }
    fs::permissions(file(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
    auto& store = open();
    store.insert(queuedRun("a", 1), RunRequest{});
    const auto ownerOnly = fs::perms::owner_read | fs::perms::owner_write;
    EXPECT_EQ(fs::status(file()).permissions(), ownerOnly);
    const fs::path wal = file().string() + "-wal";
    ASSERT_TRUE(fs::exists(wal));
    EXPECT_EQ(fs::status(wal).permissions(), ownerOnly);
}

TEST_F(RunStoreTest, UsesAWriteAheadLogAndTheCurrentSchemaVersion)
{
    open();
    const sqlite::Database db(file());
    sqlite::Statement mode(db, "PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
    EXPECT_EQ(queryInteger("PRAGMA user_version"), RunStore::schemaVersion);
}

TEST_F(RunStoreTest, AVersionOneFileIsMigratedWithTheDefaultDiskSpace)
{
    writeVersionOne(schemaV1);
    {
        sqlite::Database db(file());
        db.execute(versionOneRows);
    }
    auto& store = open();
    EXPECT_EQ(queryInteger("PRAGMA user_version"), RunStore::schemaVersion);
    const auto run = store.find("0123456789abcdef0123456789abcdef");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->limits, (Limits{.wallTimeS = 11,
                                   .cpuTimeS = 12,
                                   .memoryMb = 13,
                                   .cpuPercent = 14,
                                   .tasks = 15,
                                   .outputBytes = 16,
                                   .diskMb = 512}));
    const auto unfinished = store.unfinished();
    ASSERT_EQ(unfinished.size(), 1U);
    ASSERT_TRUE(unfinished.front().request);
    EXPECT_EQ(unfinished.front().request->code, "print(1)");
    EXPECT_EQ(unfinished.front().request->limits, (Limits{.wallTimeS = 21,
                                                          .cpuTimeS = 22,
                                                          .memoryMb = 23,
                                                          .cpuPercent = 24,
                                                          .tasks = 25,
                                                          .outputBytes = 26,
                                                          .diskMb = 512}));

    // The new column is an ordinary one from then on.
    auto updated = *run;
    updated.limits.diskMb = 64;
    store.update(updated);
    EXPECT_EQ(store.find(updated.id)->limits.diskMb, 64U);
    auto second = queuedRun("fedcba9876543210fedcba9876543210", 5);
    second.limits.diskMb = 4096;
    store.insert(second, everyRequestFieldSet());
    EXPECT_EQ(store.find(second.id)->limits.diskMb, 4096U);
    close();
    EXPECT_EQ(open().count(), 2U);
}

TEST_F(RunStoreTest, AMigrationThatFailsLeavesVersionOneAsItWas)
{
    // Without its requests table the second step of the migration fails after the first has
    // altered runs: the whole of it must be undone.
    writeVersionOne("CREATE TABLE runs (id TEXT PRIMARY KEY NOT NULL) STRICT;");
    EXPECT_THROW(open(), std::runtime_error);
    EXPECT_EQ(queryInteger("PRAGMA user_version"), 1);
    EXPECT_EQ(queryInteger("SELECT COUNT(*) FROM pragma_table_info('runs')"), 1);
}

TEST_F(RunStoreTest, ANewerSchemaIsRefusedNamingTheFile)
{
    open();
    close();
    {
        sqlite::Database db(file());
        db.execute("PRAGMA user_version = " + std::to_string(RunStore::schemaVersion + 1));
    }
    try
    {
        open();
        FAIL() << "opened a newer schema";
    }
    catch (const std::runtime_error& error)
    {
        EXPECT_THAT(error.what(), HasSubstr(file().string()));
        EXPECT_THAT(error.what(), HasSubstr("is newer than this pyrunner"));
    }
    EXPECT_EQ(queryInteger("PRAGMA user_version"), RunStore::schemaVersion + 1);
}

TEST_F(RunStoreTest, AFileThatIsNoDatabaseIsRefusedNamingIt)
{
    std::ofstream(file()) << std::string(4096, 'x');
    try
    {
        open();
        FAIL() << "opened a file that is no database";
    }
    catch (const std::runtime_error& error)
    {
        EXPECT_THAT(error.what(), HasSubstr(file().string()));
        EXPECT_THAT(error.what(), HasSubstr("not a database"));
    }
}

TEST_F(RunStoreTest, AMissingDirectoryIsRefusedNamingTheFile)
{
    try
    {
        RunStore store(dir_ / "missing" / "runs.sqlite3");
        FAIL() << "opened a file in a missing directory";
    }
    catch (const std::runtime_error& error)
    {
        EXPECT_THAT(error.what(), HasSubstr((dir_ / "missing" / "runs.sqlite3").string()));
    }
}

TEST_F(RunStoreTest, ConcurrentInsertsFromFourThreadsAllLand)
{
    constexpr int threads = 4;
    constexpr int perThread = 25;
    auto& store = open();
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (int t = 0; t < threads; ++t)
    {
        workers.emplace_back([&store, t] {
            for (int i = 0; i < perThread; ++i)
            {
                const auto id = std::to_string(t) + "-" + std::to_string(i);
                RunRequest request;
                request.code = "print(" + id + ")";
                store.insert(queuedRun(id, (t * perThread) + i), request);
                // Reads interleave with the other threads' writes.
                EXPECT_TRUE(store.find(id));
                store.count();
            }
        });
    }
    for (auto& worker : workers)
    {
        worker.join();
    }
    EXPECT_EQ(store.count(), static_cast<std::size_t>(threads * perThread));
    const auto runs = store.unfinished();
    ASSERT_EQ(runs.size(), static_cast<std::size_t>(threads * perThread));
    for (const auto& stored : runs)
    {
        ASSERT_TRUE(stored.request);
        EXPECT_EQ(stored.request->code, "print(" + stored.run.id + ")");
    }
    EXPECT_TRUE(std::is_sorted(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
        return a.run.createdAt < b.run.createdAt;
    }));
}

} // namespace
} // namespace pyrunner::core
