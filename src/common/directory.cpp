#include "common/directory.hpp"

#include <array>
#include <cstddef>
#include <cstring>
#include <dirent.h>
#include <string_view>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::core
{

bool isEmptyDirectory(int dirFd)
{
    // Room for "." and ".." and a few more: a directory with anything else fills it past them.
    constexpr std::size_t bufferBytes = 1024;
    alignas(dirent64) std::array<char, bufferBytes> buffer{};
    const auto n = ::syscall(SYS_getdents64, dirFd, buffer.data(), buffer.size());
    if (n < 0)
    {
        return false;
    }
    for (long at = 0; at < n;)
    {
        dirent64 entry{};
        std::memcpy(&entry, buffer.data() + at, offsetof(dirent64, d_name));
        const std::string_view name(buffer.data() + at + offsetof(dirent64, d_name));
        if (name != "." && name != "..")
        {
            return false;
        }
        at += entry.d_reclen;
    }
    return true;
}

} // namespace pyrunner::core
