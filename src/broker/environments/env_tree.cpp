#include "broker/environments/env_tree.hpp"

#include "common/fd.hpp"

#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

namespace fs = std::filesystem;

constexpr mode_t readOnlyBits = 0555;

// One entry made root's and read-only, its regular-file bytes added to `bytes`.
std::optional<std::string> freezeEntry(const fs::path& path, std::uint64_t& bytes)
{
    struct stat info
    {
    };
    if (::lstat(path.c_str(), &info) != 0)
    {
        return "cannot inspect " + path.string();
    }
    if (::lchown(path.c_str(), 0, 0) != 0)
    {
        return "cannot hand " + path.string() + " to root";
    }
    if (S_ISLNK(info.st_mode))
    {
        return std::nullopt;
    }
    if (S_ISREG(info.st_mode))
    {
        if (info.st_nlink != 1)
        {
            return path.string() + " is a hard link";
        }
        bytes += static_cast<std::uint64_t>(info.st_size);
    }
    else if (!S_ISDIR(info.st_mode))
    {
        return path.string() + " is neither a file, a directory nor a symbolic link";
    }
    // After the chown, which clears set-id bits anyway; these never come back.
    if (::chmod(path.c_str(), info.st_mode & readOnlyBits) != 0)
    {
        return "cannot make " + path.string() + " read-only";
    }
    return std::nullopt;
}

std::optional<std::string> freezeAll(const fs::path& root, std::uint64_t maxBytes)
{
    std::error_code error;
    if (!fs::is_directory(fs::symlink_status(root, error)))
    {
        return "the build left no environment directory";
    }
    std::uint64_t bytes = 0;
    // Directories first, then their entries: a directory made read-only is still root's to
    // walk. The iterator never follows a symbolic link to a directory.
    if (auto problem = freezeEntry(root, bytes))
    {
        return problem;
    }
    for (auto it = fs::recursive_directory_iterator(root, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error))
    {
        if (auto problem = freezeEntry(it->path(), bytes))
        {
            return problem;
        }
        if (bytes > maxBytes)
        {
            return "the environment is larger than " + std::to_string(maxBytes) + " bytes";
        }
    }
    if (error)
    {
        return "cannot walk the environment: " + error.message();
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> freezeTree(const std::string& from, const std::string& to,
                                      std::uint64_t maxBytes)
{
    std::error_code error;
    // rename() moves a symbolic link itself, never what it points to.
    fs::rename(from, to, error);
    if (error)
    {
        return "cannot move the built environment into place: " + error.message();
    }
    auto problem = freezeAll(to, maxBytes);
    if (problem)
    {
        removeTree(to);
    }
    return problem;
}

bool addFrozenFile(const std::string& path, const std::string& text)
{
    constexpr mode_t readOnly = 0444;
    const core::UniqueFd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, readOnly));
    return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

std::optional<std::string> readFrozenFile(const std::string& path, std::size_t maxBytes)
{
    const core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat info
    {
    };
    if (!fd || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) ||
        static_cast<std::uint64_t>(info.st_size) > maxBytes)
    {
        return std::nullopt;
    }
    std::string text(static_cast<std::size_t>(info.st_size), '\0');
    const auto got = ::read(fd.get(), text.data(), text.size());
    if (got < 0)
    {
        return std::nullopt;
    }
    text.resize(static_cast<std::size_t>(got));
    return text;
}

void removeTree(const std::string& path)
{
    std::error_code error;
    // remove_all removes symbolic links, not their targets.
    fs::remove_all(path, error);
}

} // namespace pyrunner::systemd
