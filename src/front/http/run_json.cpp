#include "front/http/run_json.hpp"

#include "common/utf8.hpp"
#include "front/http/run_files_http.hpp"

#include <array>
#include <chrono>
#include <cstdio>

namespace pyrunner::http
{

using core::toValidUtf8;
namespace
{

using nlohmann::json;

template <typename T> json orNull(const std::optional<T>& value)
{
    return value ? json(*value) : json(nullptr);
}

json timestampOrNull(const std::optional<core::TimePoint>& time)
{
    return time ? json(formatTimestamp(*time)) : json(nullptr);
}

json limitsToJson(const core::Limits& limits)
{
    return {
        {"wall_time_s", limits.wallTimeS},
        {"cpu_time_s", limits.cpuTimeS},
        {"memory_mb", limits.memoryMb},
        {"cpu_percent", limits.cpuPercent},
        {"tasks", limits.tasks},
        {"output_bytes", limits.outputBytes},
        {"disk_mb", limits.diskMb},
        {"files_count", limits.filesCount},
        {"files_bytes", limits.filesBytes},
    };
}

} // namespace

std::string formatTimestamp(core::TimePoint time)
{
    using namespace std::chrono;
    const auto milliseconds = floor<std::chrono::milliseconds>(time);
    const auto day = floor<days>(milliseconds);
    const year_month_day date{day};
    const hh_mm_ss clock{milliseconds - day};
    std::array<char, 32> text{};
    const int length = std::snprintf(
        text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
        static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
        static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
        static_cast<int>(clock.minutes().count()), static_cast<int>(clock.seconds().count()),
        static_cast<int>(clock.subseconds().count()));
    return {text.data(), static_cast<std::size_t>(length)};
}

namespace
{

json filesToJson(const std::vector<core::RunFile>& files)
{
    auto out = json::array();
    for (const auto& file : files)
    {
        out.push_back({{"path", file.path},
                       {"size", file.size},
                       {"sha256", file.sha256},
                       {"media_type", mediaTypeOf(file.path)}});
    }
    return out;
}

json skippedToJson(const std::vector<core::SkippedFile>& skipped)
{
    auto out = json::array();
    for (const auto& file : skipped)
    {
        out.push_back({{"path", file.path}, {"reason", file.reason}});
    }
    return out;
}

} // namespace

json runToJson(const core::RunView& view)
{
    const auto& run = view.run;
    return {
        {"id", run.id},
        {"status", core::toString(run.status)},
        {"exit_code", orNull(run.exitCode)},
        {"signal", orNull(run.signal)},
        {"stdout", toValidUtf8(view.output.stdoutData)},
        {"stderr", toValidUtf8(view.output.stderrData)},
        {"stdout_truncated", run.stdoutTruncated},
        {"stderr_truncated", run.stderrTruncated},
        {"duration_ms", orNull(run.durationMs)},
        {"cpu_time_ms", orNull(run.cpuTimeMs)},
        {"memory_peak_bytes", orNull(run.memoryPeakBytes)},
        {"unit", run.unit},
        {"environment", run.environment},
        {"tenant", run.tenant},
        {"limits", limitsToJson(run.limits)},
        {"created_at", formatTimestamp(run.createdAt)},
        {"started_at", timestampOrNull(run.startedAt)},
        {"finished_at", timestampOrNull(run.finishedAt)},
        {"error", orNull(run.error)},
        {"files", filesToJson(run.files)},
        {"files_truncated", run.filesTruncated},
        {"files_skipped", skippedToJson(run.filesSkipped)},
        {"callback_url", orNull(run.callbackUrl)},
    };
}

json runStatusToJson(const core::Run& run)
{
    auto object = runToJson({run, {}});
    object.erase("stdout");
    object.erase("stderr");
    return object;
}

json environmentsToJson(const std::vector<core::Environment>& environments)
{
    auto out = json::array();
    for (const auto& environment : environments)
    {
        auto packages = json::array();
        for (const auto& package : environment.packages)
        {
            packages.push_back({{"name", package.name}, {"version", package.version}});
        }
        json entry{{"name", environment.name},
                   {"kind", core::toString(environment.kind)},
                   {"python_version", environment.pythonVersion},
                   {"packages", std::move(packages)}};
        if (environment.kind == core::EnvironmentKind::Requirements)
        {
            entry["requirements"] = environment.requirements;
            entry["builds"] = environment.builds;
        }
        out.push_back(std::move(entry));
    }
    return out;
}

json errorJson(std::string_view message)
{
    return {{"error", message}};
}

std::string dumpJson(const json& value)
{
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pyrunner::http
