#include "core/verdict.hpp"

#include <csignal>
#include <cstring>
#include <sys/wait.h>

namespace pyrunner::core
{
namespace
{

constexpr double usecPerMs = 1000.0;
constexpr double nsecPerMs = 1000000.0;

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
    if (killedBySignal(evidence.unit) && evidence.unit.execMainStatus == SIGXCPU)
    {
        return true;
    }
    // A script that ignores SIGXCPU is killed at the hard limit; on cgroup v1 that SIGKILL
    // looks like any other, so the CPU time it used tells.
    const double limitMs = static_cast<double>(evidence.limits.cpuTimeS) * usecPerMs;
    return killedBySignal(evidence.unit) && evidence.unit.execMainStatus == SIGKILL && cpuMs &&
           *cpuMs >= limitMs;
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
    if (evidence.unit.result == "timeout" || overCpuLimit(evidence, cpuMs))
    {
        return RunStatus::TimedOut;
    }
    if (evidence.unit.execMainCode == CLD_EXITED && evidence.unit.execMainStatus == 0)
    {
        return RunStatus::Succeeded;
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
