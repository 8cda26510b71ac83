#include "broker/sandbox/pidfd.hpp"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

// struct pidfd_info of <linux/pidfd.h>, its first version (64 bytes), which Debian 12's
// kernel headers predate. The kernel fills what it knows and says so in `mask`.
struct PidfdInfo
{
    std::uint64_t mask;
    std::uint64_t cgroupid;
    std::uint32_t pid;
    std::uint32_t tgid;
    std::uint32_t ppid;
    std::uint32_t ruid;
    std::uint32_t rgid;
    std::uint32_t euid;
    std::uint32_t egid;
    std::uint32_t suid;
    std::uint32_t sgid;
    std::uint32_t fsuid;
    std::uint32_t fsgid;
    std::int32_t exitCode;
};
constexpr std::size_t pidfdInfoSizeVer0 = 64;
static_assert(sizeof(PidfdInfo) == pidfdInfoSizeVer0);

constexpr unsigned pidfsIoctlMagic = 0xFF;
constexpr unsigned pidfdGetInfoNumber = 11;
constexpr std::uint64_t infoPid = 1U << 0U;
constexpr std::uint64_t infoCreds = 1U << 1U;
constexpr std::uint64_t infoCgroupId = 1U << 2U;
constexpr std::uint64_t infoExit = 1U << 3U;

std::optional<PidfdInfo> pidfdInfo(int pidfd, std::uint64_t wanted)
{
    PidfdInfo info{};
    info.mask = wanted;
    // _IOWR spelt out: the macro's cast is an old-style one, which the warnings refuse.
    constexpr auto request =
        _IOC(_IOC_READ | _IOC_WRITE, pidfsIoctlMagic, pidfdGetInfoNumber, sizeof(PidfdInfo));
    if (::ioctl(pidfd, request, &info) != 0 || (info.mask & wanted) != wanted)
    {
        return std::nullopt;
    }
    return info;
}

} // namespace

core::UniqueFd openProcess(pid_t pid)
{
    return core::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

std::optional<LiveProcess> liveProcess(int pidfd)
{
    const auto info = pidfdInfo(pidfd, infoPid | infoCreds);
    if (!info)
    {
        return std::nullopt;
    }
    return LiveProcess{static_cast<pid_t>(info->ppid), info->ruid};
}

std::optional<ProcessExit> processExit(int pidfd)
{
    const auto info = pidfdInfo(pidfd, infoExit | infoCgroupId);
    if (!info)
    {
        return std::nullopt;
    }
    return ProcessExit{info->exitCode, info->cgroupid};
}

} // namespace pyrunner::systemd
