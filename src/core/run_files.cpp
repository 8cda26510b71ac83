#include "core/run_files.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

constexpr mode_t privateDirMode = 0700;
// Enough for the helper's few lines; a larger file is not the helper's.
constexpr std::uint64_t cgroupStatsMaxBytes = 4096;

[[noreturn]] void throwErrno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

UniqueFd openDirectory(int parent, const std::string& name)
{
    return UniqueFd(
        ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

void ensureDirectory(int parent, const std::string& name, const std::string& path)
{
    if (::mkdirat(parent, name.c_str(), privateDirMode) != 0 && errno != EEXIST)
    {
        throwErrno("cannot create " + path);
    }
}

UniqueFd openFile(int dir, const char* name)
{
    return UniqueFd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
}

std::uint64_t regularFileSize(int fd)
{
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

} // namespace

RunFiles::RunFiles(const std::string& stateDir) : runsPath_(stateDir + "/runs")
{
    ensureDirectory(AT_FDCWD, stateDir, stateDir);
    ensureDirectory(AT_FDCWD, runsPath_, runsPath_);
    runsDir_ = openDirectory(AT_FDCWD, runsPath_);
    if (!runsDir_)
    {
        throwErrno("cannot open " + runsPath_);
    }
    // An existing directory may have been made with looser permissions.
    if (::fchmod(runsDir_.get(), privateDirMode) != 0)
    {
        throwErrno("cannot restrict " + runsPath_);
    }
}

std::string RunFiles::create(const std::string& runId) const
{
    auto path = runsPath_ + "/" + runId;
    if (::mkdirat(runsDir_.get(), runId.c_str(), privateDirMode) != 0)
    {
        throwErrno("cannot create " + path);
    }
    return path;
}

UniqueFd RunFiles::openRunDir(const std::string& runId) const
{
    return openDirectory(runsDir_.get(), runId);
}

void RunFiles::remove(const std::string& runId) const
{
    const auto dir = openRunDir(runId);
    if (!dir)
    {
        return;
    }
    for (const char* name : {stdoutName, stderrName, cgroupStatsName})
    {
        ::unlinkat(dir.get(), name, 0);
    }
    ::unlinkat(runsDir_.get(), runId.c_str(), AT_REMOVEDIR);
}

RunFiles::Read RunFiles::read(const std::string& runId, const char* name, std::uint64_t limit) const
{
    Read result;
    const auto dir = openRunDir(runId);
    const auto file = dir ? openFile(dir.get(), name) : UniqueFd();
    if (!file)
    {
        return result;
    }
    result.size = regularFileSize(file.get());
    result.overLimit = result.size > limit;
    const auto wanted = static_cast<std::size_t>(std::min(result.size, limit));
    result.data.resize(wanted);
    std::size_t done = 0;
    while (done < wanted)
    {
        const auto n =
            ::pread(file.get(), result.data.data() + done, wanted - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    result.data.resize(done);
    return result;
}

std::uint64_t RunFiles::size(const std::string& runId, const char* name) const
{
    const auto dir = openRunDir(runId);
    const auto file = dir ? openFile(dir.get(), name) : UniqueFd();
    return file ? regularFileSize(file.get()) : 0;
}

CgroupStats RunFiles::cgroupStats(const std::string& runId) const
{
    return parseCgroupStats(read(runId, cgroupStatsName, cgroupStatsMaxBytes).data);
}

} // namespace pyrunner::core
