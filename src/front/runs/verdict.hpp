#pragma once

#include "common/cgroup_stats.hpp"
#include "common/limits.hpp"
#include "common/sandbox.hpp"
#include "front/store/run.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace pyrunner::core
{

// Everything known about a run once its unit is gone.
struct Evidence
{
    UnitOutcome unit;
    CgroupStats cgroup;
    Limits limits;
    bool cancelRequested = false;
    std::uint64_t stdoutBytes = 0;
    std::uint64_t stderrBytes = 0;
    // Collection of out/ stopped at files_count or files_bytes.
    bool filesTruncated = false;
};

struct Verdict
{
    RunStatus status = RunStatus::Error;
    std::optional<int> exitCode;
    std::optional<std::string> signal;
    std::optional<double> durationMs;
    std::optional<double> cpuTimeMs;
    std::optional<std::uint64_t> memoryPeakBytes;
    std::optional<std::string> error;
};

// Decides a run's final status from what systemd and the cgroup reported. The output files
// hold one byte more than the limit allows, so a size above the limit means the run
// tried to write past it.
Verdict decideVerdict(const Evidence& evidence);

// "SIGKILL" for 9; "SIG<number>" for a number without a name.
std::string signalName(int signal);

} // namespace pyrunner::core
