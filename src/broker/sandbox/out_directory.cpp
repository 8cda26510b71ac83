#include "broker/sandbox/out_directory.hpp"

#include "common/directory.hpp"
#include "common/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
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
    return !core::isEmptyDirectory(out.get());
}

} // namespace pyrunner::systemd
