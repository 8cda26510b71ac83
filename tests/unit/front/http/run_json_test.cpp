#include "front/http/run_json.hpp"

#include <gtest/gtest.h>

namespace pyrunner::http
{
namespace
{

using namespace std::chrono_literals;
using nlohmann::json;

core::TimePoint at(std::int64_t millisecondsSinceEpoch)
{
    return core::TimePoint{std::chrono::duration_cast<core::Clock::duration>(
        std::chrono::milliseconds(millisecondsSinceEpoch))};
}

core::RunView queuedRun()
{
    core::RunView view;
    view.run.id = "abc";
    view.run.unit = "pyrunner-abc.service";
    view.run.environment = "default";
    view.run.createdAt = at(0);
    return view;
}

core::RunView finishedRun()
{
    auto view = queuedRun();
    auto& run = view.run;
    run.status = core::RunStatus::Failed;
    run.exitCode = 3;
    run.signal = "SIGKILL";
    run.stdoutTruncated = true;
    run.durationMs = 12.5;
    run.cpuTimeMs = 9.25;
    run.memoryPeakBytes = 8912896;
    run.limits.wallTimeS = 20;
    run.limits.diskMb = 64;
    run.startedAt = at(1'000);
    run.finishedAt = at(2'500);
    run.error = "it broke";
    run.tenant = "alice";
    run.callbackUrl = "https://hooks.example/done";
    view.output = {"out", "err"};
    return view;
}

TEST(FormatTimestamp, IsRfc3339UtcWithMilliseconds)
{
    EXPECT_EQ(formatTimestamp(at(0)), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(formatTimestamp(at(1'795'687'979'123)), "2026-11-26T10:12:59.123Z");
    EXPECT_EQ(formatTimestamp(at(951'782'400'000)), "2000-02-29T00:00:00.000Z");
}

TEST(FormatTimestamp, TruncatesBelowAMillisecond)
{
    EXPECT_EQ(formatTimestamp(at(5) + 999us), "1970-01-01T00:00:00.005Z");
}

TEST(RunToJson, EveryFieldIsPresentWithNullsBeforeTheEnd)
{
    const auto body = runToJson(queuedRun());
    EXPECT_EQ(body, json::parse(R"({
        "id": "abc", "status": "queued", "exit_code": null, "signal": null,
        "stdout": "", "stderr": "", "stdout_truncated": false, "stderr_truncated": false,
        "duration_ms": null, "cpu_time_ms": null, "memory_peak_bytes": null,
        "unit": "pyrunner-abc.service", "environment": "default", "tenant": "",
        "limits": {"wall_time_s": 10, "cpu_time_s": 10, "memory_mb": 256, "cpu_percent": 100,
                   "tasks": 64, "output_bytes": 1048576, "disk_mb": 512,
                   "files_count": 100, "files_bytes": 16777216},
        "created_at": "1970-01-01T00:00:00.000Z", "started_at": null, "finished_at": null,
        "error": null, "files": [], "files_truncated": false, "files_skipped": [],
        "callback_url": null})"));
}

TEST(RunToJson, AFinishedRunFillsEveryField)
{
    const auto body = runToJson(finishedRun());
    EXPECT_EQ(body["status"], "failed");
    EXPECT_EQ(body["exit_code"], 3);
    EXPECT_EQ(body["signal"], "SIGKILL");
    EXPECT_EQ(body["stdout"], "out");
    EXPECT_EQ(body["stderr"], "err");
    EXPECT_EQ(body["stdout_truncated"], true);
    EXPECT_EQ(body["stderr_truncated"], false);
    EXPECT_EQ(body["duration_ms"], 12.5);
    EXPECT_EQ(body["cpu_time_ms"], 9.25);
    EXPECT_EQ(body["memory_peak_bytes"], 8912896);
    EXPECT_EQ(body["limits"]["wall_time_s"], 20);
    EXPECT_EQ(body["limits"]["disk_mb"], 64);
    EXPECT_EQ(body["started_at"], "1970-01-01T00:00:01.000Z");
    EXPECT_EQ(body["finished_at"], "1970-01-01T00:00:02.500Z");
    EXPECT_EQ(body["error"], "it broke");
    EXPECT_EQ(body["tenant"], "alice");
    EXPECT_EQ(body["callback_url"], "https://hooks.example/done");
    EXPECT_EQ(body.size(), 23U);
}

TEST(RunToJson, EveryStatusHasItsContractName)
{
    const std::pair<core::RunStatus, std::string> cases[] = {
        {core::RunStatus::Queued, "queued"},
        {core::RunStatus::Running, "running"},
        {core::RunStatus::Succeeded, "succeeded"},
        {core::RunStatus::Failed, "failed"},
        {core::RunStatus::TimedOut, "timed_out"},
        {core::RunStatus::OutOfMemory, "out_of_memory"},
        {core::RunStatus::OutputLimitExceeded, "output_limit_exceeded"},
        {core::RunStatus::Cancelled, "cancelled"},
        {core::RunStatus::Error, "error"},
    };
    for (const auto& [status, name] : cases)
    {
        auto view = queuedRun();
        view.run.status = status;
        EXPECT_EQ(runToJson(view)["status"], name);
    }
}

TEST(RunToJson, InvalidOutputBytesBecomeReplacementCharacters)
{
    auto view = queuedRun();
    view.output.stdoutData = "ok \xFF\xC0\xAF end";
    view.output.stderrData = std::string("\0\xED\xA0\x80", 4);
    const auto body = runToJson(view);
    EXPECT_EQ(body["stdout"], "ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");
    EXPECT_EQ(body["stderr"], std::string("\0", 1) + "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_NO_THROW(static_cast<void>(dumpJson(body)));
}

TEST(DumpJson, NeverThrowsOnInvalidUtf8)
{
    json value = {{"error", "bad \xFF byte"}};
    std::string text;
    EXPECT_NO_THROW(text = dumpJson(value));
    EXPECT_EQ(text, "{\"error\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(DumpJson, EscapesControlCharacters)
{
    EXPECT_EQ(dumpJson(json{{"s", std::string("a\0\n", 3)}}), R"({"s":"a\u0000\n"})");
}

TEST(ErrorJson, IsOneErrorField)
{
    EXPECT_EQ(dumpJson(errorJson("Nope.")), R"({"error":"Nope."})");
}

} // namespace
} // namespace pyrunner::http
