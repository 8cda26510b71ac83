#include "front/callbacks/server_key.hpp"

#include "common/callback_key.hpp"
#include "common/fd.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what)
{
    throw std::runtime_error(file.string() + ": " + what);
}

[[noreturn]] void failErrno(const std::filesystem::path& file, const std::string& what)
{
    fail(file, what + ": " + std::strerror(errno));
}

std::string readKey(const std::filesystem::path& file, int fd)
{
    struct stat status
    {
    };
    if (::fstat(fd, &status) != 0)
    {
        failErrno(file, "cannot be examined");
    }
    if (!S_ISREG(status.st_mode))
    {
        fail(file, "is not a regular file");
    }
    std::array<char, callbackKeyLength + 2> text{};
    std::size_t filled = 0;
    while (filled < text.size())
    {
        const auto got = ::read(fd, text.data() + filled, text.size() - filled);
        if (got < 0 && errno == EINTR)
        {
            continue;
        }
        if (got < 0)
        {
            failErrno(file, "cannot be read");
        }
        if (got == 0)
        {
            break;
        }
        filled += static_cast<std::size_t>(got);
    }
    const std::string_view key(text.data(), filled);
    if (filled != callbackKeyLength + 1 || key.back() != '\n' ||
        !isCallbackKey(key.substr(0, callbackKeyLength)))
    {
        fail(file, "does not hold a callback key (64 lowercase hex digits and a line break)");
    }
    return std::string(key.substr(0, callbackKeyLength));
}

} // namespace

std::string serverCallbackKey(const std::filesystem::path& file)
{
    constexpr mode_t privateMode = 0600;
    const UniqueFd existing(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (existing)
    {
        return readKey(file, existing.get());
    }
    if (errno != ENOENT)
    {
        failErrno(file, "cannot be opened");
    }
    // Written under a name of its own and linked into place, so that no reader ever sees half
    // a key, and two starts at once agree on one.
    const auto directory = file.has_parent_path() ? file.parent_path() : ".";
    const UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
    {
        failErrno(directory, "cannot be opened");
    }
    const auto temporary =
        "." + file.filename().string() + ".new-" + newCallbackKey().substr(0, 16);
    const UniqueFd fd(::openat(dir.get(), temporary.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, privateMode));
    if (!fd || ::fchmod(fd.get(), privateMode) != 0)
    {
        failErrno(file, "cannot be created");
    }
    auto key = newCallbackKey();
    const auto text = key + "\n";
    const bool written =
        ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd.get()) == 0;
    const int writeError = errno;
    // link(2), unlike rename(2), never replaces a key another start put there meanwhile.
    const bool linked = written && ::linkat(dir.get(), temporary.c_str(), dir.get(),
                                            file.filename().c_str(), 0) == 0;
    const int linkError = errno;
    ::unlinkat(dir.get(), temporary.c_str(), 0);
    if (!written)
    {
        errno = writeError;
        failErrno(file, "cannot be written");
    }
    if (!linked && linkError == EEXIST)
    {
        return serverCallbackKey(file);
    }
    if (!linked)
    {
        errno = linkError;
        failErrno(file, "cannot be created");
    }
    if (::fsync(dir.get()) != 0)
    {
        failErrno(directory, "cannot be synced");
    }
    return key;
}

} // namespace pyrunner::core
