#include "front/runs/verdict.hpp"

#include <csignal>
#include <cstring>
#include <sys/wait.h>

namespace pyrunner::core
{
namespace
{

constexpr double usecPerMs = 1000.0;
constexpr double nsecPerMs = 1000000.0;
// RLIMIT_CPU counts scheduler ticks, which over-charge a process that shares its CPU; the
// cgroup's exact figure can then be well below the limit when SIGXCPU comes. Half the
// limit still tells the kernel's signal from one a script sends itself early.
constexpr double cpuLimitShareForSigxcpu = 0.5;

std::optional<double> cpuTimeMs(const Evidence& evidence)
{
    // systemd's own figure where it keeps one; the cgroup's where it cannot (v1 hosts whose
    // cpuacct controller is not joined to cpu).
    if (evidence.unit.cpuUsageNsec)
    {
        return static_cast<double>(*evidence.unit.cpuUsageNsec) / nsecPerMs;
    }
    if (evidence.cgroup.cpuUsageUsec)
    {
        return static_cast<double>(*evidence.cgroup.cpuUsageUsec) / usecPerMs;
    }
    return std::nullopt;
}

std::optional<double> durationMs(const UnitOutcome& unit)
{
    if (!unit.startMonotonicUsec || !unit.exitMonotonicUsec ||
        *unit.exitMonotonicUsec < *unit.startMonotonicUsec)
    {
        return std::nullopt;
    }
    return static_cast<double>(*unit.exitMonotonicUsec - *unit.startMonotonicUsec) / usecPerMs;
}

bool killedBySignal(const UnitOutcome& unit)
{
    return unit.execMainCode == CLD_KILLED || unit.execMainCode == CLD_DUMPED;
}

bool outOfMemory(const Evidence& evidence)
{
    return evidence.unit.result == "oom-kill" || evidence.cgroup.oomKills.value_or(0) > 0;
}

bool overOutputLimit(const Evidence& evidence)
{
    return evidence.stdoutBytes > evidence.limits.outputBytes ||
           evidence.stderrBytes > evidence.limits.outputBytes;
}

bool overCpuLimit(const Evidence& evidence, const std::optional<double>& cpuMs)
{
    const auto signal = evidence.unit.execMainStatus;
    if (!killedBySignal(evidence.unit) || (signal != SIGXCPU && signal != SIGKILL))
    {
        return false;
    }
    // The kernel sends SIGXCPU at the limit and SIGKILL a second later (to a script that
    // ignores it); the CPU time used tells those from a script that signals itself.
    // Without a CPU figure, only SIGXCPU can be taken at its word.
    if (!cpuMs)
    {
        return signal == SIGXCPU;
    }
    const double limitMs = static_cast<double>(evidence.limits.cpuTimeS) * usecPerMs;
    return *cpuMs >= limitMs * cpuLimitShareForSigxcpu;
}

bool overWallLimit(const Evidence& evidence)
{
    // Result=timeout also follows a slow stop after a script that ended by itself; only a
    // main process that systemd had to kill ran into RuntimeMaxSec=.
    return evidence.unit.result == "timeout" && evidence.unit.execMainCode != CLD_EXITED;
}

RunStatus statusOf(const Evidence& evidence, const std::optional<double>& cpuMs)
{
    if (evidence.cancelRequested)
    {
        return RunStatus::Cancelled;
    }
    if (outOfMemory(evidence))
    {
        return RunStatus::OutOfMemory;
    }
    if (overOutputLimit(evidence))
    {
        return RunStatus::OutputLimitExceeded;
    }
    if (overWallLimit(evidence) || overCpuLimit(evidence, cpuMs))
    {
        return RunStatus::TimedOut;
    }
    if (evidence.unit.execMainCode == CLD_EXITED && evidence.unit.execMainStatus == 0)
    {
        // Its reports were cut short: the run did not get what it asked for.
        return evidence.filesTruncated ? RunStatus::OutputLimitExceeded : RunStatus::Succeeded;
    }
    return RunStatus::Failed;
}

} // namespace

std::string signalName(int signal)
{
    if (const char* abbrev = sigabbrev_np(signal))
    {
        return std::string("SIG") + abbrev;
    }
    return "SIG" + std::to_string(signal);
}

Verdict decideVerdict(const Evidence& evidence)
{
    Verdict verdict;
    verdict.durationMs = durationMs(evidence.unit);
    verdict.cpuTimeMs = cpuTimeMs(evidence);
    verdict.memoryPeakBytes = evidence.cgroup.memoryPeakBytes;

    // A unit that never started, or whose end could not be read, says nothing about the script.
    if ((!evidence.unit.started || !evidence.unit.error.empty()) && !evidence.cancelRequested)
    {
        verdict.status = RunStatus::Error;
        verdict.error = evidence.unit.error.empty() ? "systemd could not start the run's unit."
                                                    : evidence.unit.error;
        return verdict;
    }
    if (evidence.unit.execMainCode == CLD_EXITED)
    {
        verdict.exitCode = evidence.unit.execMainStatus;
    }
    else if (killedBySignal(evidence.unit))
    {
        verdict.signal = signalName(evidence.unit.execMainStatus);
    }
    verdict.status = statusOf(evidence, verdict.cpuTimeMs);
    return verdict;
}

} // namespace pyrunner::core
