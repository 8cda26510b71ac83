#include "helpers/files_collector.hpp"

#include "common/directory.hpp"
#include "common/file_paths.hpp"
#include "common/run_files.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <iterator>
#include <linux/openat2.h>
#include <poll.h>
#include <set>
#include <string_view>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace pyrunner::helpers
{
namespace
{

using core::UniqueFd;

// The pipe from the walking child to this process carries records; integers are in host byte
// order (both ends are one program):
//
//   'F' u32 length, path, u64 size, `size` bytes, u8 status
//       A regular file. Status 0: the bytes are the file's. Status 1: the file ended or failed
//       before `size` bytes, and the child sent zeros for the rest: it is unreadable.
//   'S' u8 reason, u32 length, path
//       An entry not copied, the reason an index in skipReasons, the path as the run named
//       it, cut after maxPathBytes + 1 bytes (all that displayPath() looks at).
//
// The child ends the stream by exiting: end of file at a record's boundary and exit status 0
// mean it walked everything. Sizes and counts are the parent's to check, and every path: the
// child is the run's user, and the parent trusts nothing that user could have shaped.
constexpr char fileRecord = 'F';
constexpr char skipRecord = 'S';
constexpr std::uint8_t fileComplete = 0;
constexpr std::uint8_t fileShort = 1;

enum class Reason : std::uint8_t
{
    Symlink,
    Fifo,
    Socket,
    Device,
    InvalidName,
    Unreadable,
};
constexpr std::array<const char*, 6> skipReasons = {"symlink", "fifo",         "socket",
                                                    "device",  "invalid_name", "unreadable"};

constexpr std::size_t maxSentSkipPath = core::maxPathBytes + 1;
constexpr std::size_t chunkBytes = std::size_t{64} * 1024;
constexpr mode_t filesDirMode = 0750;
// Group-readable: the setgid run directory gives the copies the HTTP front's group.
constexpr mode_t copyMode = 0640;
// A bound far past any run's, so that a huge --seconds cannot overflow the clock.
constexpr std::chrono::hours longestTime{24 * 365};

// Every lookup under out/ stays on the run's own file system, below the directory it starts
// from, and follows no link of any kind: what the run left cannot send it elsewhere.
constexpr std::uint64_t resolveBeneath =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

int openBeneath(int dirFd, const char* path, std::uint64_t flags)
{
    open_how how{};
    how.flags = flags;
    how.resolve = resolveBeneath;
    // EAGAIN: a rename raced the lookup, which the kernel refuses to guess about.
    constexpr int attempts = 8;
    long fd = -1;
    for (int attempt = 0; attempt < attempts; ++attempt)
    {
        fd = ::syscall(SYS_openat2, dirFd, path, &how, sizeof how);
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
        {
            break;
        }
    }
    return static_cast<int>(fd);
}

// A directory stream and, through it, its fd.
class Directory
{
  public:
    // Takes `fd`, invalid or not.
    explicit Directory(int fd)
    {
        if (fd >= 0)
        {
            dir_ = ::fdopendir(fd);
            if (dir_ == nullptr)
            {
                ::close(fd);
            }
        }
    }
    ~Directory()
    {
        if (dir_ != nullptr)
        {
            ::closedir(dir_);
        }
    }
    Directory(const Directory&) = delete;
    Directory& operator=(const Directory&) = delete;
    Directory(Directory&&) = delete;
    Directory& operator=(Directory&&) = delete;

    explicit operator bool() const { return dir_ != nullptr; }
    int fd() const { return ::dirfd(dir_); }

    // Sorted bytewise, so that the same tree always gives the same listing.
    std::vector<std::string> names()
    {
        std::vector<std::string> names;
        while (const dirent* entry = ::readdir(dir_))
        {
            const std::string_view name = entry->d_name;
            if (name != "." && name != "..")
            {
                names.emplace_back(name);
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

  private:
    DIR* dir_ = nullptr;
};

bool writeAll(int fd, const char* data, std::size_t size)
{
    while (size > 0)
    {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR)
        {
            continue;
        }
        if (written <= 0)
        {
            return false;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

template <typename Integer> void appendInteger(std::string& record, Integer value)
{
    std::array<char, sizeof value> bytes{};
    std::memcpy(bytes.data(), &value, sizeof value);
    record.append(bytes.data(), bytes.size());
}

// The child's side: the walk, as the run's user.

Reason reasonFor(mode_t mode)
{
    if (S_ISLNK(mode))
    {
        return Reason::Symlink;
    }
    if (S_ISFIFO(mode))
    {
        return Reason::Fifo;
    }
    if (S_ISSOCK(mode))
    {
        return Reason::Socket;
    }
    if (S_ISCHR(mode) || S_ISBLK(mode))
    {
        return Reason::Device;
    }
    return Reason::Unreadable;
}

bool sendSkip(int pipe, Reason reason, std::string_view path)
{
    const auto sent = path.substr(0, maxSentSkipPath);
    std::string record(1, skipRecord);
    record.push_back(static_cast<char>(reason));
    appendInteger(record, static_cast<std::uint32_t>(sent.size()));
    record.append(sent);
    return writeAll(pipe, record.data(), record.size());
}

bool sendFile(int pipe, int dirFd, const std::string& name, const std::string& path,
              std::vector<char>& buffer)
{
    // O_NONBLOCK: should anything but a regular file get this far, opening it cannot wait.
    const UniqueFd file(openBeneath(dirFd, name.c_str(),
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat status
    {
    };
    if (!file || ::fstat(file.get(), &status) != 0)
    {
        return sendSkip(pipe, Reason::Unreadable, path);
    }
    if (!S_ISREG(status.st_mode))
    {
        return sendSkip(pipe, reasonFor(status.st_mode), path);
    }
    auto left = static_cast<std::uint64_t>(status.st_size);
    std::string header(1, fileRecord);
    appendInteger(header, static_cast<std::uint32_t>(path.size()));
    header += path;
    appendInteger(header, left);
    if (!writeAll(pipe, header.data(), header.size()))
    {
        return false;
    }
    bool complete = true;
    while (left > 0)
    {
        const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
        ssize_t got = complete ? ::read(file.get(), buffer.data(), wanted) : 0;
        if (got < 0 && errno == EINTR)
        {
            continue;
        }
        if (got <= 0)
        {
            // The header promised `size` bytes: zeros keep the stream in step.
            if (complete)
            {
                std::fill(buffer.begin(), buffer.end(), '\0');
                complete = false;
            }
            got = static_cast<ssize_t>(wanted);
        }
        if (!writeAll(pipe, buffer.data(), static_cast<std::size_t>(got)))
        {
            return false;
        }
        left -= static_cast<std::uint64_t>(got);
    }
    const char statusByte = static_cast<char>(complete ? fileComplete : fileShort);
    return writeAll(pipe, &statusByte, 1);
}

// Depth first: a directory's other entries, then its subdirectories one after the other.
// Each directory is opened by its path from out/, so that only one is open at a time
// however deep the tree.
bool walk(int outFd, int pipe)
{
    std::vector<char> buffer(chunkBytes);
    // Relative paths of the directories still to list, the next one last; "" is out/.
    std::vector<std::string> pending{""};
    while (!pending.empty())
    {
        const std::string dirPath = std::move(pending.back());
        pending.pop_back();
        Directory dir(openBeneath(outFd, dirPath.empty() ? "." : dirPath.c_str(),
                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir)
        {
            if (!dirPath.empty() && !sendSkip(pipe, Reason::Unreadable, dirPath))
            {
                return false;
            }
            continue;
        }
        std::vector<std::string> subdirs;
        for (const auto& name : dir.names())
        {
            std::string path = dirPath;
            if (!path.empty())
            {
                path += '/';
            }
            path += name;
            if (core::filePathProblem(path))
            {
                // A directory too: nothing below a name that cannot be listed can be either.
                if (!sendSkip(pipe, Reason::InvalidName, path))
                {
                    return false;
                }
                continue;
            }
            struct stat status
            {
            };
            if (::fstatat(dir.fd(), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0)
            {
                if (!sendSkip(pipe, Reason::Unreadable, path))
                {
                    return false;
                }
                continue;
            }
            bool sent = true;
            if (S_ISDIR(status.st_mode))
            {
                subdirs.push_back(path);
            }
            else if (S_ISREG(status.st_mode))
            {
                sent = sendFile(pipe, dir.fd(), name, path, buffer);
            }
            else
            {
                sent = sendSkip(pipe, reasonFor(status.st_mode), path);
            }
            if (!sent)
            {
                return false;
            }
        }
        std::move(subdirs.rbegin(), subdirs.rend(), std::back_inserter(pending));
    }
    return true;
}

void closeRange(int first, int last)
{
    if (first <= last)
    {
        ::close_range(static_cast<unsigned>(first), static_cast<unsigned>(last), 0);
    }
}

bool dropPrivileges(uid_t uid, gid_t gid)
{
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0)
    {
        return false;
    }
    uid_t ruid = 0;
    uid_t euid = 0;
    uid_t suid = 0;
    gid_t rgid = 0;
    gid_t egid = 0;
    gid_t sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
        ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid ||
        ::getgroups(0, nullptr) != 0)
    {
        return false;
    }
    // No way back to root through an executable, and no other process of the run's user (were
    // one left) may ptrace this one or read its memory.
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_DUMPABLE, 0) == 0;
}

[[noreturn]] void runWalker(int outFd, int pipe, uid_t uid, gid_t gid, pid_t parent)
{
    // Nothing of root's (the run directory, the copies) stays within its reach.
    const int low = std::min(outFd, pipe);
    const int high = std::max(outFd, pipe);
    closeRange(0, low - 1);
    closeRange(low + 1, high - 1);
    closeRange(high + 1, INT_MAX);
    sigset_t none{};
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Killed with its parent, whom systemd may kill at its stop timeout. Set after the drop,
    // which clears it.
    if (!dropPrivileges(uid, gid) || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
        ::getppid() != parent)
    {
        ::_exit(1);
    }
    bool walked = false;
    try
    {
        walked = walk(outFd, pipe);
    }
    catch (...)
    {
        walked = false;
    }
    ::_exit(walked ? 0 : 1);
}

// The parent's side: root, reading only the pipe.

// The walking child, killed and reaped at the latest when this goes.
class Child
{
  public:
    explicit Child(pid_t pid) : pid_(pid) {}
    ~Child() { kill(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    Child(Child&&) = delete;
    Child& operator=(Child&&) = delete;

    void kill()
    {
        if (pid_ > 0)
        {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    // Waits for it; true if it exited 0.
    bool succeeded()
    {
        const int status = wait();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }

  private:
    int wait()
    {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
        {
        }
        pid_ = -1;
        return status;
    }

    pid_t pid_;
};

enum class Read
{
    Done,
    // End of file.
    Ended,
    // The time bound passed or stopFd became readable.
    Stopped,
};

class PipeReader
{
  public:
    PipeReader(int fd, int stopFd, std::chrono::steady_clock::time_point deadline)
        : fd_(fd), stopFd_(stopFd), deadline_(deadline), buffer_(chunkBytes)
    {
    }

    // Exactly `size` bytes into `into`.
    Read read(char* into, std::size_t size)
    {
        while (size > 0)
        {
            if (begin_ == end_)
            {
                const auto filled = fill();
                if (filled != Read::Done)
                {
                    return filled;
                }
            }
            const auto taken = std::min(size, end_ - begin_);
            std::memcpy(into, buffer_.data() + begin_, taken);
            begin_ += taken;
            into += taken;
            size -= taken;
        }
        return Read::Done;
    }

    template <typename Integer> Read readInteger(Integer& value)
    {
        std::array<char, sizeof value> bytes{};
        const auto got = read(bytes.data(), bytes.size());
        std::memcpy(&value, bytes.data(), sizeof value);
        return got;
    }

  private:
    Read fill()
    {
        for (;;)
        {
            // Checked before every read, so that a child that never stops sending is bound too.
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                deadline_ - std::chrono::steady_clock::now());
            if (left.count() <= 0)
            {
                return Read::Stopped;
            }
            std::array<pollfd, 2> fds{pollfd{fd_, POLLIN, 0}, pollfd{stopFd_, POLLIN, 0}};
            const int ready =
                ::poll(fds.data(), fds.size(),
                       static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
            if (ready < 0 && errno == EINTR)
            {
                continue;
            }
            if (ready <= 0 || fds[1].revents != 0)
            {
                return Read::Stopped;
            }
            const ssize_t got = ::read(fd_, buffer_.data(), buffer_.size());
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
            {
                continue;
            }
            if (got <= 0)
            {
                return Read::Ended;
            }
            begin_ = 0;
            end_ = static_cast<std::size_t>(got);
            return Read::Done;
        }
    }

    int fd_;
    int stopFd_;
    std::chrono::steady_clock::time_point deadline_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

// A copy being written, removed unless kept.
class PendingCopy
{
  public:
    PendingCopy(int dirFd, std::uint32_t index) : dirFd_(dirFd), name_(std::to_string(index))
    {
        fd_ = UniqueFd(::openat(dirFd, name_.c_str(),
                                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, copyMode));
        if (fd_ && ::fchmod(fd_.get(), copyMode) != 0)
        {
            fd_.reset();
        }
    }
    ~PendingCopy()
    {
        fd_.reset();
        if (!kept_)
        {
            ::unlinkat(dirFd_, name_.c_str(), 0);
        }
    }
    PendingCopy(const PendingCopy&) = delete;
    PendingCopy& operator=(const PendingCopy&) = delete;
    PendingCopy(PendingCopy&&) = delete;
    PendingCopy& operator=(PendingCopy&&) = delete;

    explicit operator bool() const { return static_cast<bool>(fd_); }
    bool write(const char* data, std::size_t size) { return writeAll(fd_.get(), data, size); }
    void keep() { kept_ = true; }

  private:
    int dirFd_;
    std::string name_;
    UniqueFd fd_;
    bool kept_ = false;
};

// The paths collected so far: a child that lied could name one twice, or a file as another
// file's directory, and a listing that says so could not be unpacked.
class CollectedPaths
{
  public:
    bool add(const std::string& path)
    {
        for (auto slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1))
        {
            if (paths_.contains(path.substr(0, slash)))
            {
                return false;
            }
        }
        const auto below = paths_.lower_bound(path + '/');
        if (below != paths_.end() && below->starts_with(path + '/'))
        {
            return false;
        }
        return paths_.insert(path).second;
    }

  private:
    std::set<std::string> paths_;
};

class Receiver
{
  public:
    Receiver(PipeReader& reader, int filesDirFd, const CollectLimits& limits,
             core::FilesManifest& manifest)
        : reader_(reader), filesDirFd_(filesDirFd), limits_(limits), manifest_(manifest),
          bytesLeft_(limits.filesBytes), buffer_(chunkBytes)
    {
    }

    // True when the stream ended at a record's boundary; false when it was cut, broke the
    // format or went past a limit.
    bool receiveAll()
    {
        for (;;)
        {
            char type = 0;
            const auto got = reader_.read(&type, 1);
            if (got == Read::Ended)
            {
                return true;
            }
            if (got != Read::Done)
            {
                return false;
            }
            const bool received = type == fileRecord   ? receiveFile()
                                  : type == skipRecord ? receiveSkip()
                                                       : false;
            if (!received)
            {
                return false;
            }
        }
    }

  private:
    bool readPath(std::size_t maxBytes, std::string& path)
    {
        std::uint32_t length = 0;
        if (reader_.readInteger(length) != Read::Done || length > maxBytes)
        {
            return false;
        }
        path.resize(length);
        return reader_.read(path.data(), path.size()) == Read::Done;
    }

    bool skip(std::string_view path, Reason reason)
    {
        if (manifest_.skipped.size() >= limits_.filesCount)
        {
            return false;
        }
        manifest_.skipped.push_back(
            {core::displayPath(path), skipReasons[static_cast<std::size_t>(reason)]});
        return true;
    }

    bool receiveSkip()
    {
        std::uint8_t reason = 0;
        std::string path;
        return reader_.readInteger(reason) == Read::Done && reason < skipReasons.size() &&
               readPath(maxSentSkipPath, path) && skip(path, static_cast<Reason>(reason));
    }

    bool receiveFile()
    {
        std::string path;
        std::uint64_t size = 0;
        if (!readPath(core::maxPathBytes, path) || core::filePathProblem(path) ||
            reader_.readInteger(size) != Read::Done ||
            manifest_.files.size() >= limits_.filesCount || size > bytesLeft_ || !paths_.add(path))
        {
            return false;
        }
        const auto index = static_cast<std::uint32_t>(manifest_.files.size());
        PendingCopy copy(filesDirFd_, index);
        if (!copy)
        {
            return false;
        }
        for (auto left = size; left > 0;)
        {
            const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunkBytes));
            if (reader_.read(buffer_.data(), chunk) != Read::Done ||
                !copy.write(buffer_.data(), chunk))
            {
                return false;
            }
            left -= chunk;
        }
        std::uint8_t status = 0;
        if (reader_.readInteger(status) != Read::Done)
        {
            return false;
        }
        if (status == fileShort)
        {
            return skip(path, Reason::Unreadable);
        }
        if (status != fileComplete)
        {
            return false;
        }
        copy.keep();
        manifest_.files.push_back({path, size, index});
        bytesLeft_ -= size;
        return true;
    }

    PipeReader& reader_;
    int filesDirFd_;
    const CollectLimits& limits_;
    core::FilesManifest& manifest_;
    std::uint64_t bytesLeft_;
    std::vector<char> buffer_;
    CollectedPaths paths_;
};

void removeContents(int dirFd)
{
    Directory dir(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
    {
        throw std::system_error(errno, std::generic_category(), "cannot list the files directory");
    }
    for (const auto& name : dir.names())
    {
        if (::unlinkat(dir.fd(), name.c_str(), 0) != 0)
        {
            throw std::system_error(errno, std::generic_category(),
                                    "cannot remove an earlier copy " + name);
        }
    }
}

} // namespace

bool alreadyCollected(int runDirFd)
{
    struct stat status
    {
    };
    return ::fstatat(runDirFd, core::RunFiles::filesManifestName, &status, AT_SYMLINK_NOFOLLOW) ==
           0;
}

UniqueFd prepareFilesDir(int runDirFd)
{
    struct stat runDir
    {
    };
    if (::fstat(runDirFd, &runDir) != 0)
    {
        throw std::system_error(errno, std::generic_category(), "cannot inspect the run directory");
    }
    const mode_t mode = filesDirMode | (runDir.st_mode & S_ISGID);
    const char* name = core::RunFiles::filesDirName;
    if (::mkdirat(runDirFd, name, mode) != 0 && errno != EEXIST)
    {
        throw std::system_error(errno, std::generic_category(),
                                "cannot create the files directory");
    }
    UniqueFd dir(::openat(runDirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir || ::fchmod(dir.get(), mode) != 0)
    {
        throw std::system_error(errno, std::generic_category(), "cannot open the files directory");
    }
    removeContents(dir.get());
    return dir;
}

core::FilesManifest collectFiles(int outParentFd, const std::string& outName, int filesDirFd,
                                 const CollectLimits& limits, int stopFd)
{
    core::FilesManifest manifest;
    // systemd made the run's /tmp for the run's dynamic user, who is never root.
    struct stat parent
    {
    };
    if (::fstat(outParentFd, &parent) != 0 || parent.st_uid == 0 || parent.st_gid == 0)
    {
        return manifest;
    }
    UniqueFd out(openBeneath(outParentFd, outName.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Most runs leave nothing: listing the directory, which opens nothing in it, saves them the
    // child.
    if (!out || core::isEmptyDirectory(out.get()))
    {
        return manifest;
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::min<std::chrono::seconds>(limits.time, longestTime);
    std::array<int, 2> ends{};
    if (::pipe2(ends.data(), O_CLOEXEC) != 0)
    {
        manifest.truncated = true;
        return manifest;
    }
    const UniqueFd readEnd(ends[0]);
    UniqueFd writeEnd(ends[1]);
    const pid_t self = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
    {
        manifest.truncated = true;
        return manifest;
    }
    if (pid == 0)
    {
        runWalker(out.get(), writeEnd.get(), parent.st_uid, parent.st_gid, self);
    }
    Child child(pid);
    writeEnd.reset();
    out.reset();
    PipeReader reader(readEnd.get(), stopFd, deadline);
    Receiver receiver(reader, filesDirFd, limits, manifest);
    if (!receiver.receiveAll() || !child.succeeded())
    {
        child.kill();
        manifest.truncated = true;
    }
    return manifest;
}

bool writeManifest(int runDirFd, const core::FilesManifest& manifest)
{
    const std::string partial = std::string(core::RunFiles::filesManifestName) + ".partial";
    if (::unlinkat(runDirFd, partial.c_str(), 0) != 0 && errno != ENOENT)
    {
        return false;
    }
    const UniqueFd file(::openat(runDirFd, partial.c_str(),
                                 O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, copyMode));
    const auto text = core::formatManifest(manifest);
    // An empty manifest lost to a crash reads as what it says, no files: not worth a sync.
    const bool empty = manifest.files.empty() && manifest.skipped.empty() && !manifest.truncated;
    if (!file || ::fchmod(file.get(), copyMode) != 0 ||
        !writeAll(file.get(), text.data(), text.size()) || (!empty && ::fsync(file.get()) != 0))
    {
        return false;
    }
    return ::renameat(runDirFd, partial.c_str(), runDirFd, core::RunFiles::filesManifestName) == 0;
}

} // namespace pyrunner::helpers
