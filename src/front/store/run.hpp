#pragma once

#include "common/files_manifest.hpp"
#include "common/limits.hpp"
#include "common/tenant.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::core
{

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

enum class RunStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    OutOfMemory,
    OutputLimitExceeded,
    Cancelled,
    Error,
};

std::string_view toString(RunStatus status);
// The status toString() names, or nothing for any other text.
std::optional<RunStatus> parseRunStatus(std::string_view text);
bool isFinal(RunStatus status);

// A tenant's share of the server and of the machine (docs/operations.md, "Tokens and
// tenants"); what is not set is bounded by the server's own settings alone.
struct TenantShare
{
    std::optional<std::size_t> maxRunning;
    std::optional<std::size_t> maxQueued;
    TenantCaps caps;

    bool operator==(const TenantShare&) const = default;
};

// A submission after parsing and validation: everything the server needs to start it.
struct RunRequest
{
    std::string code;
    std::string stdinData;
    std::vector<std::string> args;
    std::string environment = "default";
    // Packages to install on top of the default environment (normalised, see
    // environment_requirements.hpp); the run then runs in the environment built from them.
    std::vector<std::string> requirements;
    Limits limits;
    // The script's path among the files, run instead of `code`, when not empty.
    std::string entry;
    // The files the run brings, checked, as the tar its unit unpacks into the working
    // directory (front/files/files_in.hpp); empty for none. Kept apart from the store, in the
    // front's own directory, until the run's unit has started (FilesInStore): hasFiles says it is
    // there.
    std::string filesBundle;
    bool hasFiles = false;
    bool wait = true;
    // The submitter's address, for the operator's log; never stored, never shown to runs.
    std::string client = {};
    // Whose run it is: the tenant that submitted it (empty on a server without
    // authentication), and that tenant's share as it was then.
    std::string tenant = {};
    TenantShare share = {};
    // Where the final Run object is posted once the run ends; checked against the operator's
    // allowed prefixes already.
    std::optional<std::string> callbackUrl = {};
};

// A file the run left in out/, as the Run object lists it.
struct RunFile
{
    // Relative to out/.
    std::string path;
    std::uint64_t size = 0;
    // Lowercase hex. The media type follows from the path (mediaTypeOf).
    std::string sha256;
    // The collector's copy it is (RunFiles::openCollected).
    std::uint32_t index = 0;

    bool operator==(const RunFile&) const = default;
};

// What the API reports about a run. Output bytes live in the run's files, not here.
struct Run
{
    std::string id;
    // The tenant it belongs to; empty for runs of a server without authentication.
    std::string tenant;
    RunStatus status = RunStatus::Queued;
    std::optional<int> exitCode;
    std::optional<std::string> signal;
    bool stdoutTruncated = false;
    bool stderrTruncated = false;
    std::optional<double> durationMs;
    std::optional<double> cpuTimeMs;
    std::optional<std::uint64_t> memoryPeakBytes;
    std::string unit;
    std::string environment;
    Limits limits;
    TimePoint createdAt;
    std::optional<TimePoint> startedAt;
    std::optional<TimePoint> finishedAt;
    std::optional<std::string> error;
    // What was collected from out/ once the run ended.
    std::vector<RunFile> files;
    bool filesTruncated = false;
    std::vector<SkippedFile> filesSkipped;
    // Where the final Run object is posted once the run ends; none: nowhere.
    std::optional<std::string> callbackUrl;
};

// Where a finished run's callback stands.
enum class CallbackState
{
    // Not yet answered with 2xx, and attempts remain: the next one is due at nextAttemptAt.
    Pending,
    Delivered,
    // Every attempt failed; no more are made.
    Failed,
};

// A callback to attempt: the run it is of, where it goes and whose key signs it.
struct DueCallback
{
    std::string runId;
    std::string url;
    std::string tenant;
    // Attempts made so far.
    unsigned attempts = 0;

    bool operator==(const DueCallback&) const = default;
};

// The captured output of a run, already cut to its limit.
struct RunOutput
{
    std::string stdoutData;
    std::string stderrData;
};

} // namespace pyrunner::core
