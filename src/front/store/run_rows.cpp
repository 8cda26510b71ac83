#include "front/store/run_rows.hpp"

#include "common/text.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pyrunner::core::rows
{
namespace
{

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
    statement.bindInteger(":disk_mb", limits.diskMb);
    statement.bindInteger(":files_count", limits.filesCount);
    statement.bindInteger(":files_bytes", toInteger(limits.filesBytes));
}

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
    limits.diskMb = smallInteger(row);
    limits.filesCount = smallInteger(row);
    limits.filesBytes = toUnsigned(row.integer());
    return limits;
}

// The files a finished run left, one line each after whether collection was cut short:
// "f <index> <size> <sha256> <path>" and "s <reason> <path>" (paths hold no line breaks).
std::string encodeFiles(const Run& run)
{
    std::string text = run.filesTruncated ? "t 1\n" : "t 0\n";
    for (const auto& file : run.files)
    {
        text += "f " + std::to_string(file.index) + ' ' + std::to_string(file.size) + ' ' +
                file.sha256 + ' ' + file.path + '\n';
    }
    for (const auto& skipped : run.filesSkipped)
    {
        text += "s " + skipped.reason + ' ' + skipped.path + '\n';
    }
    return text;
}

bool decodeFiles(std::string_view text, Run& run)
{
    bool valid = true;
    forEachLine(text, [&](std::string_view line) {
        const auto [kind, rest] = splitOnce(line, ' ');
        if (kind == "t")
        {
            run.filesTruncated = rest == "1";
        }
        else if (kind == "f")
        {
            const auto [index, afterIndex] = splitOnce(rest, ' ');
            const auto [size, afterSize] = splitOnce(afterIndex, ' ');
            const auto [sha256, path] = splitOnce(afterSize, ' ');
            const auto indexValue = parseUnsigned(index);
            const auto sizeValue = parseUnsigned(size);
            valid = valid && indexValue && sizeValue && !path.empty();
            if (valid)
            {
                run.files.push_back({std::string(path), *sizeValue, std::string(sha256),
                                     static_cast<std::uint32_t>(*indexValue)});
            }
        }
        else if (kind == "s")
        {
            const auto [reason, path] = splitOnce(rest, ' ');
            run.filesSkipped.push_back({std::string(path), std::string(reason)});
        }
        else
        {
            valid = false;
        }
    });
    return valid;
}

} // namespace

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

std::string assignments(std::span<const std::string_view> columns)
{
    return commaList(columns.subspan(1),
                     [](const std::string& column) { return column + " = :" + column; });
}

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
    statement.bindText(":files", isFinal(run.status) ? encodeFiles(run) : std::string());
    statement.bindText(":tenant", run.tenant);
    bindOptionalText(statement, ":callback_url", run.callbackUrl);
}

void bindRequest(sqlite::Statement& statement, const RunRequest& request)
{
    statement.bindBlob(":code", request.code);
    statement.bindBlob(":stdin", request.stdinData);
    statement.bindBlob(":args", encodeArgs(request.args));
    statement.bindText(":environment", request.environment);
    statement.bindInteger(":wait", request.wait ? 1 : 0);
    bindLimits(statement, request.limits);
    statement.bindText(":entry", request.entry);
    statement.bindInteger(":has_files", request.hasFiles ? 1 : 0);
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
    if (!decodeFiles(row.text(), run))
    {
        throw std::runtime_error(file + ": run " + run.id + " has a malformed list of files");
    }
    run.tenant = row.text();
    run.callbackUrl = row.optionalText();
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
    request.entry = row.text();
    request.hasFiles = row.integer() != 0;
    return request;
}

} // namespace pyrunner::core::rows
