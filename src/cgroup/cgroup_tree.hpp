#pragma once

#include "common/cgroup_stats.hpp"
#include "common/fd.hpp"

#include <cstdint>
#include <linux/bpf.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/statfs.h>
#include <sys/types.h>
#include <vector>

namespace pyrunner::systemd
{

// The directory names of a unit's ControlGroup property ("/pyrunner.slice/x.service"), root
// first; nullopt for the root cgroup or anything but plain names below it.
std::optional<std::vector<std::string>> cgroupComponents(std::string_view controlGroup);

// A cgroup can go at any time: its directory then is no more, or its files answer ENODEV.
// Says whether `error` (an errno) means that.
bool cgroupVanished(int error);

// The cgroup hierarchy mounted at `path` when its file system is `magic` (CGROUP_SUPER_MAGIC
// for a v1 one, CGROUP2_SUPER_MAGIC for the unified one); an empty fd otherwise. The path may
// be a link: hosts mount cpu and cpuacct together and link both names to it.
core::UniqueFd openHierarchy(const char* path, decltype(statfs::f_type) magic);

// The directory of `controlGroup` in the hierarchy whose root is `hierarchyRoot`, opened
// O_PATH without following a link on the way; an empty fd when the cgroup is gone (its unit
// has ended). Throws std::runtime_error on any other failure, and for a ControlGroup that
// cgroupComponents refuses.
core::UniqueFd openCgroup(int hierarchyRoot, std::string_view controlGroup);

// The cgroup hierarchies of this host, opened once, from which a unit's figures
// (core::CgroupStats) are read by the name systemd gives its cgroup. systemd puts a unit at
// the same path in every hierarchy: the v1 ones a hybrid or legacy host mounts for memory,
// pids, cpu and cpuacct, and the unified one.
class CgroupTree
{
  public:
    // Whatever of /sys/fs/cgroup/{memory,pids,cpu,cpuacct,devices,unified} and /sys/fs/cgroup
    // itself is a cgroup file system of the kind its place says; a missing one is left out.
    static CgroupTree forHost();

    // The figures of `controlGroup`'s cgroup, read now. nullopt when its memory figures
    // cannot be read: the cgroup is gone, or the host accounts memory nowhere.
    std::optional<core::CgroupStats> read(std::string_view controlGroup) const;
    // The id of `controlGroup`'s cgroup in the unified hierarchy (the inode number of its
    // directory, as the kernel names a process's cgroup); nullopt when it is gone, or the
    // host has no unified hierarchy.
    std::optional<std::uint64_t> unifiedId(std::string_view controlGroup) const;
    // The processes in `controlGroup`'s cgroup of the unified hierarchy, which lists no
    // process that has exited; nullopt when it is gone, the host has no unified hierarchy, or
    // they are too many to read at once.
    std::optional<std::vector<pid_t>> processes(std::string_view controlGroup) const;
    // How many BPF programs of `type` are attached to `controlGroup`'s cgroup in the unified
    // hierarchy itself (not those of the cgroups above it); nullopt when it is gone, or the
    // host has no unified hierarchy. Throws std::system_error when the kernel refuses to tell
    // (the caller lacks CAP_NET_ADMIN, or a system call filter denies bpf()).
    std::optional<std::uint32_t> attachedPrograms(std::string_view controlGroup,
                                                  bpf_attach_type type) const;
    // The memory.peak of `controlGroup`'s cgroup in the unified hierarchy, where the memory
    // controller is enabled there (cgroup v2, Linux 5.19 and later).
    std::optional<std::uint64_t> unifiedMemoryPeak(std::string_view controlGroup) const;
    // The oom_kill count in memory.events of `controlGroup`'s cgroup in the unified hierarchy,
    // where the memory controller is enabled there: what systemd reads to give a unit
    // Result=oom-kill.
    std::optional<std::uint64_t> unifiedOomKills(std::string_view controlGroup) const;
    // Whether the v1 devices controller restricts `controlGroup`'s cgroup (its devices.list is
    // not "a *:* rwm"); nullopt when the host has no such hierarchy or the unit no cgroup in it.
    std::optional<bool> devicesRestricted(std::string_view controlGroup) const;

  private:
    // `controlGroup`'s directory in `hierarchy`, where the host has that hierarchy.
    static core::UniqueFd in(const core::UniqueFd& hierarchy, std::string_view controlGroup);

    core::UniqueFd memory_;
    core::UniqueFd pids_;
    core::UniqueFd cpu_;
    core::UniqueFd cpuacct_;
    core::UniqueFd devices_;
    core::UniqueFd unified_;
};

} // namespace pyrunner::systemd
