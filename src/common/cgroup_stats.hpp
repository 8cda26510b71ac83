#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// What the unit's own cgroup says once its processes are gone. It is written by the
// unit's privileged ExecStopPost helper, because on cgroup v1 an OOM kill is visible
// only there and the cgroup disappears with the unit.
struct CgroupStats
{
    std::optional<std::uint64_t> oomKills;
    std::optional<std::uint64_t> memoryPeakBytes;
    std::optional<std::uint64_t> cpuUsageUsec;
    // The limits the kernel applied, so the broker can see systemd really set them.
    std::optional<std::uint64_t> memoryLimitBytes;
    std::optional<std::uint64_t> tasksLimit;
    // CPU time allowed per 100 ms period, in microseconds.
    std::optional<std::uint64_t> cpuQuotaUsec;

    // What systemd put on the cgroup for the unit's sandboxing, which only the cgroup shows
    // and only the helper may read (the layer probe's cgroup-v2 layers). Each nullopt where
    // it could not be read, and in a record written before the helper wrote them.
    //
    // The BPF programs attached to the cgroup itself in the unified hierarchy, not to those
    // above it: systemd's for IPAddressDeny= (ingress and egress) and, on cgroup v2, for
    // DevicePolicy=.
    std::optional<std::uint64_t> inetIngressPrograms;
    std::optional<std::uint64_t> inetEgressPrograms;
    std::optional<std::uint64_t> devicePrograms;
    // DevicePolicy= on cgroup v1: the cgroup's devices.list is not "a *:* rwm".
    std::optional<bool> devicesRestricted;
    // The cgroup in the unified hierarchy has memory.peak, and an oom_kill count in its
    // memory.events (what systemd reads to give a unit Result=oom-kill): the memory controller
    // is enabled there.
    std::optional<bool> unifiedMemoryPeak;
    std::optional<bool> unifiedOomKillCount;

    bool operator==(const CgroupStats&) const = default;
};

// "key value" lines, a number or "yes"/"no" each; unknown keys and malformed lines are
// ignored, and a key that is not there leaves its field nullopt.
std::string formatCgroupStats(const CgroupStats& stats);
CgroupStats parseCgroupStats(std::string_view text);

} // namespace pyrunner::core
