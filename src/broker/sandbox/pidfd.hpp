#pragma once

#include "common/fd.hpp"

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace pyrunner::systemd
{

// A pidfd for `pid` (pidfd_open(2)): it names that one process for as long as it is held,
// whatever the kernel does with the number later. Empty when there is no such process.
core::UniqueFd openProcess(pid_t pid);

struct LiveProcess
{
    pid_t parent = 0;
    // The real one.
    uid_t uid = 0;
};

// What the kernel says of the live process `pidfd` names; nullopt once it has exited, or
// where the kernel cannot tell (PIDFD_GET_INFO came with Linux 6.13).
std::optional<LiveProcess> liveProcess(int pidfd);

struct ProcessExit
{
    // As waitpid(2) gives it.
    int waitStatus = 0;
    // The unified-hierarchy cgroup the process ended in: its directory's inode number.
    std::uint64_t cgroupId = 0;
};

// How the process `pidfd` names ended, once its parent has reaped it, which poll(2) on the
// pidfd reports as POLLHUP. nullopt until then, and where the kernel keeps no exit status for
// a process that is not the caller's child (PIDFD_INFO_EXIT came with Linux 6.15).
std::optional<ProcessExit> processExit(int pidfd);

} // namespace pyrunner::systemd
