#include "broker/sandbox/out_directory.hpp"

#include "common/fd.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string_view>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::systemd
{

bool outDirectoryHasEntries(const std::string& spaceTmp)
{
    const core::UniqueFd tmp(
        ::open(spaceTmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!tmp)
    {
        // No space any more: its unit is gone, and the collector has run.
        return errno != ENOENT;
    }
    open_how how{};
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    const core::UniqueFd out(
        static_cast<int>(::syscall(SYS_openat2, tmp.get(), "out", &how, sizeof how)));
    if (!out)
    {
        // Removed, or made something else than a directory: the collector finds nothing either.
        return errno != ENOENT && errno != ENOTDIR && errno != ELOOP;
    }
    constexpr std::size_t bufferBytes = 1024;
    alignas(dirent64) std::array<char, bufferBytes> buffer{};
    const auto n = ::syscall(SYS_getdents64, out.get(), buffer.data(), buffer.size());
    if (n < 0)
    {
        return true;
    }
    for (long at = 0; at < n;)
    {
        dirent64 entry{};
        std::memcpy(&entry, buffer.data() + at, offsetof(dirent64, d_name));
        const std::string_view name(buffer.data() + at + offsetof(dirent64, d_name));
        if (name != "." && name != "..")
        {
            return true;
        }
        at += entry.d_reclen;
    }
    // Nothing past "." and ".." in the first batch: a directory with more would have filled it.
    return false;
}

} // namespace pyrunner::systemd
