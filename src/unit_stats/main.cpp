// ExecStopPost helper of every run unit, started by systemd with full privileges after
// the run's processes are gone but while the unit's cgroup still exists. It records what
// only that cgroup knows (OOM kills, memory peak, CPU time) and how systemd says the unit
// ended, in a file the server reads: the record outlives the unit, so a run that ended while
// no server watched still gets its verdict. The run can no longer act, so nothing it did can
// shape what is written.

#include "core/cgroup_stats.hpp"
#include "core/fd.hpp"
#include "core/unit_end.hpp"
#include "systemd/cgroup_files.hpp"

#include <systemd/sd-journal.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace
{

using pyrunner::core::CgroupStats;
using pyrunner::systemd::cgroupPathOf;
using pyrunner::systemd::firstNumber;
using pyrunner::systemd::keyedValue;
using pyrunner::systemd::numberFile;

std::string readSmallFile(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool exists(const std::string& path)
{
    struct stat st
    {
    };
    return ::stat(path.c_str(), &st) == 0;
}

CgroupStats collect()
{
    const auto self = readSmallFile("/proc/self/cgroup");
    // Hybrid hosts mount the unified hierarchy beside the v1 ones.
    const std::string unifiedRoot =
        exists("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
    CgroupStats stats;
    const auto unified = cgroupPathOf(self, "");
    const auto v2 = [&](const char* file) { return readSmallFile(unifiedRoot + *unified + file); };
    if (const auto v1 = cgroupPathOf(self, "memory"))
    {
        const auto dir = "/sys/fs/cgroup/memory" + *v1;
        stats.oomKills = keyedValue(readSmallFile(dir + "/memory.oom_control"), "oom_kill");
        stats.memoryPeakBytes = numberFile(readSmallFile(dir + "/memory.max_usage_in_bytes"));
        stats.memoryLimitBytes = numberFile(readSmallFile(dir + "/memory.limit_in_bytes"));
    }
    else if (unified)
    {
        stats.oomKills = keyedValue(v2("/memory.events"), "oom_kill");
        stats.memoryPeakBytes = numberFile(v2("/memory.peak"));
        stats.memoryLimitBytes = numberFile(v2("/memory.max"));
    }
    if (const auto v1 = cgroupPathOf(self, "pids"))
    {
        stats.tasksLimit = numberFile(readSmallFile("/sys/fs/cgroup/pids" + *v1 + "/pids.max"));
    }
    else if (unified)
    {
        stats.tasksLimit = numberFile(v2("/pids.max"));
    }
    if (const auto v1 = cgroupPathOf(self, "cpu"))
    {
        stats.cpuQuotaUsec =
            numberFile(readSmallFile("/sys/fs/cgroup/cpu" + *v1 + "/cpu.cfs_quota_us"));
    }
    else if (unified)
    {
        // "quota period"; the period is systemd's 100 ms.
        stats.cpuQuotaUsec = firstNumber(v2("/cpu.max"));
    }
    if (unified)
    {
        // cpu.stat's usage is kept for every v2 cgroup, with or without the cpu controller.
        stats.cpuUsageUsec = keyedValue(v2("/cpu.stat"), "usage_usec");
    }
    return stats;
}

pyrunner::core::UnitEnd unitEnd()
{
    const auto variable = [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
    pyrunner::core::UnitEnd end;
    end.serviceResult = variable("SERVICE_RESULT");
    end.exitCode = variable("EXIT_CODE");
    end.exitStatus = variable("EXIT_STATUS");
    // system_clock is CLOCK_REALTIME, the clock the store keeps a run's start in.
    end.stoppedRealtimeUsec =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    return end;
}

// Written under a temporary name and renamed, so a reader finds the whole record or none.
bool writeNew(const std::string& path, const std::string& text)
{
    // Group-readable: the run's setgid directory gives it the HTTP front's group.
    constexpr mode_t mode = 0640;
    const auto partial = path + ".partial";
    const pyrunner::core::UniqueFd fd(
        ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd || ::fchmod(fd.get(), mode) != 0 ||
        ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) != 0)
    {
        return false;
    }
    return ::rename(partial.c_str(), path.c_str()) == 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        sd_journal_print(LOG_ERR, "usage: pyrunner-unit-stats OUTPUT-FILE");
        return 2;
    }
    // The unit's LimitFSIZE caps the run's output and would cap this file too.
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &unlimited);
    const auto record =
        pyrunner::core::formatCgroupStats(collect()) + pyrunner::core::formatUnitEnd(unitEnd());
    if (!writeNew(argv[1], record))
    {
        sd_journal_print(LOG_ERR, "pyrunner-unit-stats: cannot write %s: %s", argv[1],
                         std::strerror(errno));
        return 1;
    }
    return 0;
}
