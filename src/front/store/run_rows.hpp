#pragma once

#include "front/store/run.hpp"
#include "front/store/sqlite.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

// How a Run and its RunRequest map to the store's columns and back: the column lists the
// store's statements are written from, the conversions of values SQLite has no type for, and
// the binding and reading of whole rows. Pure mapping; the statements themselves and when
// they run are the RunStore's.
namespace pyrunner::core::rows
{

// Run's columns: readRun reads them in this order, bindRun binds each as :<column>.
inline constexpr std::array<std::string_view, 27> runColumns{
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
    "disk_mb",
    "files_count",
    "files_bytes",
    "files",
    "tenant",
    "callback_url",
};

// RunRequest's columns (run_id aside), likewise for readRequest and bindRequest.
inline constexpr std::array<std::string_view, 16> requestColumns{
    "code",
    "stdin",
    "args",
    "environment",
    "wait",
    "wall_time_s",
    "cpu_time_s",
    "memory_mb",
    "cpu_percent",
    "tasks",
    "output_limit_bytes",
    "disk_mb",
    "files_count",
    "files_bytes",
    "entry",
    "has_files",
};

// "a, b, c": the columns' names.
std::string names(std::span<const std::string_view> columns);
// "table.a, table.b, table.c".
std::string qualifiedNames(const std::string& table, std::span<const std::string_view> columns);
// ":a, :b, :c": a parameter per column, named after it.
std::string parameters(std::span<const std::string_view> columns);
// "status = :status, ..." for every column but the first, the id the row is found by.
std::string assignments(std::span<const std::string_view> columns);

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
std::int64_t toInteger(std::uint64_t value);
std::uint64_t toUnsigned(std::int64_t value);
std::int64_t toMicros(TimePoint time);
TimePoint fromMicros(std::int64_t micros);

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

// Binds every runColumns entry of `run` as :<column>.
void bindRun(sqlite::Statement& statement, const Run& run);
// Binds every requestColumns entry of `request` as :<column>.
void bindRequest(sqlite::Statement& statement, const RunRequest& request);
// Reads runColumns in order; `file` names the database in errors.
Run readRun(Row& row, const std::string& file);
// Reads requestColumns in order; throws std::runtime_error on a malformed row.
RunRequest readRequest(Row& row, const std::string& file, const std::string& runId);

} // namespace pyrunner::core::rows
