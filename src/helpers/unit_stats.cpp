// ExecStopPost helper of every run unit, started by systemd with full privileges after
// the run's processes are gone but while the unit's cgroup still exists. It records what
// only that cgroup knows (OOM kills, memory peak, CPU time) and how systemd says the unit
// ended, in a file the server reads: the record outlives the unit, so a run that ended while
// no server watched still gets its verdict. A broker that watches reads the same cgroup
// itself while this runs, so as not to wait for it. The run can no longer act, so nothing it did
// can shape what is written.
//
// It also records what systemd put on the cgroup for the unit's sandboxing, which the broker's
// layer probe reads from the probe unit's record: the BPF programs attached to it, which only
// bpf(BPF_PROG_QUERY) with CAP_NET_ADMIN tells. "+" runs it outside the unit's
// CapabilityBoundingSet= and SystemCallFilter=, so the broker itself needs neither.
//
// systemd 252 gives it the unit's temporary file systems, the empty /run among them, so from a
// run unit its messages do not reach the journal's socket; its exit status still tells systemd
// it failed. Run by hand, it logs as any program does.

#include "cgroup/cgroup_files.hpp"
#include "cgroup/cgroup_tree.hpp"
#include "common/cgroup_stats.hpp"
#include "common/fd.hpp"
#include "common/unit_end.hpp"

#include <systemd/sd-journal.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/bpf.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <system_error>
#include <unistd.h>

namespace
{

using pyrunner::core::CgroupStats;
using pyrunner::systemd::cgroupPathOf;
using pyrunner::systemd::CgroupTree;

std::string readSmallFile(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Each figure on its own: one the kernel refuses leaves the others.
void addSandboxing(const CgroupTree& tree, const std::string& path, CgroupStats& stats)
{
    const auto count = [&](bpf_attach_type type) -> std::optional<std::uint64_t> {
        try
        {
            return tree.attachedPrograms(path, type);
        }
        catch (const std::system_error& e)
        {
            // A container's system call filter may deny bpf() even to this: the layers these
            // make then count as missing.
            sd_journal_print(LOG_WARNING, "pyrunner-unit-stats: %s", e.what());
            return std::nullopt;
        }
    };
    stats.inetIngressPrograms = count(BPF_CGROUP_INET_INGRESS);
    stats.inetEgressPrograms = count(BPF_CGROUP_INET_EGRESS);
    stats.devicePrograms = count(BPF_CGROUP_DEVICE);
    stats.devicesRestricted = tree.devicesRestricted(path);
    stats.unifiedMemoryPeak = tree.unifiedMemoryPeak(path).has_value();
    stats.unifiedOomKillCount = tree.unifiedOomKills(path).has_value();
}

CgroupStats collect()
{
    const auto self = readSmallFile("/proc/self/cgroup");
    // systemd puts a unit at the same path in every hierarchy; a v2-only host lists one.
    auto path = cgroupPathOf(self, "memory");
    if (!path)
    {
        path = cgroupPathOf(self, "");
    }
    if (!path)
    {
        return {};
    }
    CgroupStats stats;
    try
    {
        const auto tree = CgroupTree::forHost();
        stats = tree.read(*path).value_or(CgroupStats{});
        addSandboxing(tree, *path, stats);
    }
    catch (const std::exception& e)
    {
        sd_journal_print(LOG_ERR, "pyrunner-unit-stats: %s", e.what());
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
        // The broker read the cgroup itself while the unit was stopping, and the run's
        // directory was released since: there is nothing left to record for.
        if (errno == ENOENT)
        {
            return 0;
        }
        sd_journal_print(LOG_ERR, "pyrunner-unit-stats: cannot write %s: %s", argv[1],
                         std::strerror(errno));
        return 1;
    }
    return 0;
}
