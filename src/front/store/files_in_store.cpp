#include "front/store/files_in_store.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace pyrunner::core
{
namespace
{

[[noreturn]] void throwErrno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

FilesInStore::FilesInStore(std::string directory) : directory_(std::move(directory))
{
    constexpr mode_t privateDirectory = 0700;
    if (::mkdir(directory_.c_str(), privateDirectory) != 0 && errno != EEXIST)
    {
        throwErrno("cannot create " + directory_);
    }
    dir_ = UniqueFd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir_ || ::fchmod(dir_.get(), privateDirectory) != 0)
    {
        throwErrno("cannot open " + directory_);
    }
}

void FilesInStore::put(const std::string& runId, const std::string& bundle) const
{
    const auto path = directory_ + "/" + runId;
    constexpr mode_t privateFile = 0600;
    // Left by a server that stopped between writing it and storing its run: that run was never
    // accepted, and its id is new again only by chance, so the file goes.
    ::unlinkat(dir_.get(), runId.c_str(), 0);
    const UniqueFd file(::openat(dir_.get(), runId.c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                 privateFile));
    if (!file)
    {
        throwErrno("cannot create " + path);
    }
    std::size_t done = 0;
    while (done < bundle.size())
    {
        const auto n = ::write(file.get(), bundle.data() + done, bundle.size() - done);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            const auto error = errno;
            ::unlinkat(dir_.get(), runId.c_str(), 0);
            errno = error;
            throwErrno("cannot write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(file.get()) != 0 || ::fsync(dir_.get()) != 0)
    {
        throwErrno("cannot sync " + path);
    }
}

std::shared_ptr<const UniqueFd> FilesInStore::open(const std::string& runId) const
{
    UniqueFd file(::openat(dir_.get(), runId.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file)
    {
        return nullptr;
    }
    return std::make_shared<const UniqueFd>(std::move(file));
}

void FilesInStore::remove(const std::string& runId) const
{
    ::unlinkat(dir_.get(), runId.c_str(), 0);
}

} // namespace pyrunner::core
