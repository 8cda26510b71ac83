#include "common/run_files.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

constexpr mode_t layoutDirMode = 0750;
// setgid: what systemd and the stop-post helper create inside belongs to the front's group.
constexpr mode_t runDirMode = 02750;
constexpr mode_t outputFileMode = 0640;
// Enough for the helper's few lines; a larger file is not the helper's.
constexpr std::uint64_t cgroupStatsMaxBytes = 4096;

[[noreturn]] void throwErrno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

void writeAll(const UniqueFd& file, const std::string& data, const std::string& path)
{
    std::size_t done = 0;
    while (done < data.size())
    {
        const auto n = ::write(file.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            throwErrno("cannot write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
}

UniqueFd openDirectory(int parent, const std::string& name)
{
    return UniqueFd(
        ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// A root-owned directory of group `gid` and exactly `mode`, whatever was there before.
UniqueFd ownedDirectory(int parent, const std::string& name, const std::string& path, uid_t uid,
                        gid_t gid, mode_t mode)
{
    if (::mkdirat(parent, name.c_str(), mode) != 0 && errno != EEXIST)
    {
        throwErrno("cannot create " + path);
    }
    auto dir = openDirectory(parent, name);
    if (!dir || ::fchown(dir.get(), uid, gid) != 0 || ::fchmod(dir.get(), mode) != 0)
    {
        throwErrno("cannot prepare " + path);
    }
    return dir;
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

// The collector's copies, which it names by number only: nothing a run chose is a name here.
void removeCollected(const UniqueFd& runDir)
{
    auto files = openDirectory(runDir.get(), RunFiles::filesDirName);
    if (!files)
    {
        return;
    }
    const int listed = ::dup(files.get());
    DIR* stream = listed >= 0 ? ::fdopendir(listed) : nullptr;
    if (stream == nullptr)
    {
        if (listed >= 0)
        {
            ::close(listed);
        }
        return;
    }
    const std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, ::closedir);
    while (const auto* entry = ::readdir(stream))
    {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..")
        {
            ::unlinkat(files.get(), entry->d_name, 0);
        }
    }
    ::unlinkat(runDir.get(), RunFiles::filesDirName, AT_REMOVEDIR);
}

} // namespace

void RunFiles::createLayout(const std::string& stateDir, uid_t frontUid, gid_t readerGid)
{
    const auto state = ownedDirectory(AT_FDCWD, stateDir, stateDir, 0, readerGid, layoutDirMode);
    ownedDirectory(state.get(), "runs", stateDir + "/runs", 0, readerGid, layoutDirMode);
    constexpr mode_t frontDirMode = 0700;
    ownedDirectory(state.get(), frontDirName, stateDir + "/" + frontDirName, frontUid, readerGid,
                   frontDirMode);
}

RunFiles::RunFiles(const std::string& stateDir)
    : runsPath_(stateDir + "/runs"), runsDir_(openDirectory(AT_FDCWD, runsPath_))
{
    if (!runsDir_)
    {
        throwErrno("cannot open " + runsPath_);
    }
}

std::string RunFiles::create(const std::string& runId, gid_t readerGid) const
{
    auto path = runsPath_ + "/" + runId;
    if (::mkdirat(runsDir_.get(), runId.c_str(), runDirMode) != 0)
    {
        throwErrno("cannot create " + path);
    }
    const auto dir = openDirectory(runsDir_.get(), runId);
    // mkdir drops the setgid bit under some umasks; set the mode explicitly.
    if (!dir || ::fchown(dir.get(), 0, readerGid) != 0 || ::fchmod(dir.get(), runDirMode) != 0)
    {
        throwErrno("cannot prepare " + path);
    }
    for (const char* name : {stdoutName, stderrName})
    {
        const UniqueFd file(::openat(
            dir.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, outputFileMode));
        if (!file || ::fchmod(file.get(), outputFileMode) != 0)
        {
            throwErrno("cannot create " + path + "/" + name);
        }
    }
    return path;
}

std::string RunFiles::path(const std::string& runId) const
{
    return runsPath_ + "/" + runId;
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
    for (const char* name :
         {stdoutName, stderrName, cgroupStatsName, cgroupStatsPartialName, cgroupStatsBrokerName,
          codeName, stdinName, handoverName, readyName, outputCapName, filesInName,
          filesManifestName, filesManifestPartialName})
    {
        ::unlinkat(dir.get(), name, 0);
    }
    removeCollected(dir);
    ::unlinkat(runsDir_.get(), runId.c_str(), AT_REMOVEDIR);
}

bool RunFiles::copyFilesIn(const std::string& runId, int source, std::uint64_t maxBytes) const
{
    const auto size = regularFileSize(source);
    if (size == 0)
    {
        return false;
    }
    const auto target = path(runId) + "/" + filesInName;
    if (size > maxBytes)
    {
        throw std::system_error(EFBIG, std::generic_category(),
                                "the files for " + target + " take more than " +
                                    std::to_string(maxBytes) + " bytes");
    }
    const auto dir = openRunDir(runId);
    constexpr mode_t filesInMode = 0604;
    const UniqueFd file(dir ? ::openat(dir.get(), filesInName,
                                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                       filesInMode)
                            : -1);
    if (!file || ::fchmod(file.get(), filesInMode) != 0)
    {
        throwErrno("cannot create " + target);
    }
    // In the kernel, from the front's file to this one: no copy of up to files_bytes in memory.
    off_t offset = 0;
    while (static_cast<std::uint64_t>(offset) < size)
    {
        const auto n = ::copy_file_range(source, &offset, file.get(), nullptr,
                                         static_cast<std::size_t>(size) - offset, 0);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            const auto error = n == 0 ? EIO : errno;
            ::unlinkat(dir.get(), filesInName, 0);
            errno = error;
            throwErrno("cannot copy the run's files to " + target);
        }
    }
    return true;
}

std::optional<FilesManifest> RunFiles::filesManifest(const std::string& runId) const
{
    // Two lines of at most a path and a few figures per file, for at most files_count files and
    // as many skipped.
    constexpr std::uint64_t largestManifest = 2ULL * 10000ULL * 1100ULL + 4096ULL;
    const auto record = read(runId, filesManifestName, largestManifest);
    if (record.data.empty() || record.overLimit)
    {
        return std::nullopt;
    }
    return parseManifest(record.data);
}

UniqueFd RunFiles::openCollected(const std::string& runId, std::uint32_t index) const
{
    const auto dir = openRunDir(runId);
    const auto files = dir ? openDirectory(dir.get(), filesDirName) : UniqueFd();
    return files ? openFile(files.get(), std::to_string(index).c_str()) : UniqueFd();
}

void RunFiles::writePrivate(const std::string& runId, const char* name,
                            const std::string& data) const
{
    constexpr mode_t privateFileMode = 0600;
    writeNew(openRunDir(runId), runId, name, data, privateFileMode);
}

void RunFiles::writeOutputCap(const std::string& runId, std::uint64_t bytes) const
{
    writePrivate(runId, outputCapName, std::to_string(bytes));
}

std::optional<std::uint64_t> RunFiles::outputCap(const std::string& runId) const
{
    // Twenty digits hold any 64-bit number: a longer file is not one this broker wrote.
    constexpr std::uint64_t longest = 20;
    const auto record = read(runId, outputCapName, longest);
    std::uint64_t bytes = 0;
    const auto* end = record.data.data() + record.data.size();
    const auto [at, error] = std::from_chars(record.data.data(), end, bytes);
    if (record.data.empty() || record.overLimit || error != std::errc() || at != end)
    {
        return std::nullopt;
    }
    return bytes;
}

void RunFiles::writeCode(const std::string& runId, const std::string& code) const
{
    constexpr mode_t codeFileMode = 0604;
    writeNew(openRunDir(runId), runId, codeName, code, codeFileMode);
}

void RunFiles::fillCode(const std::string& runId, const std::string& code) const
{
    const auto path = runsPath_ + "/" + runId + "/" + codeName;
    const auto dir = openRunDir(runId);
    // No O_CREAT: a file that is not there is no file the unit has bound in.
    const UniqueFd file(
        dir ? ::openat(dir.get(), codeName, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC) : -1);
    if (!file)
    {
        throwErrno("cannot open " + path);
    }
    writeAll(file, code, path);
}

void RunFiles::writeStopRecord(const std::string& runId, const std::string& record) const
{
    const auto dir = openRunDir(runId);
    // Left by a broker that stopped half-way.
    ::unlinkat(dir.get(), cgroupStatsBrokerName, 0);
    writeNew(dir, runId, cgroupStatsBrokerName, record, outputFileMode);
    // The helper's record, where it came first, is as good and stays.
    if (::renameat2(dir.get(), cgroupStatsBrokerName, dir.get(), cgroupStatsName,
                    RENAME_NOREPLACE) != 0)
    {
        const auto error = errno;
        ::unlinkat(dir.get(), cgroupStatsBrokerName, 0);
        if (error != EEXIST)
        {
            errno = error;
            throwErrno("cannot rename " + path(runId) + "/" + cgroupStatsBrokerName);
        }
    }
}

void RunFiles::writeNew(const UniqueFd& dir, const std::string& runId, const char* name,
                        const std::string& data, mode_t mode) const
{
    const auto path = runsPath_ + "/" + runId + "/" + name;
    const UniqueFd file(
        dir ? ::openat(dir.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            : -1);
    if (!file || ::fchmod(file.get(), mode) != 0)
    {
        throwErrno("cannot create " + path);
    }
    writeAll(file, data, path);
}

RunFiles::Read RunFiles::read(const std::string& runId, const char* name, std::uint64_t limit) const
{
    Read result;
    const auto file = open(runId, name);
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
    const auto file = open(runId, name);
    return file ? regularFileSize(file.get()) : 0;
}

UniqueFd RunFiles::open(const std::string& runId, const char* name) const
{
    const auto dir = openRunDir(runId);
    return dir ? openFile(dir.get(), name) : UniqueFd();
}

CgroupStats RunFiles::cgroupStats(const std::string& runId) const
{
    return parseCgroupStats(read(runId, cgroupStatsName, cgroupStatsMaxBytes).data);
}

UniqueFd RunFiles::openHandover(const std::string& runId) const
{
    const auto dir = openRunDir(runId);
    return dir ? UniqueFd(::openat(dir.get(), handoverName,
                                   O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC))
               : UniqueFd();
}

UnitEnd RunFiles::unitEnd(const std::string& runId) const
{
    return parseUnitEnd(read(runId, cgroupStatsName, cgroupStatsMaxBytes).data);
}

} // namespace pyrunner::core
