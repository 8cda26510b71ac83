#include "front/auth/file_tokens.hpp"

#include <cerrno>
#include <sys/stat.h>

namespace pyrunner::auth
{

bool FileTokens::Stamp::operator==(const Stamp& other) const
{
    return error == other.error && device == other.device && inode == other.inode &&
           modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec &&
           size == other.size;
}

FileTokens::FileTokens(std::string path, Fault fault)
    : path_(std::move(path)), fault_(std::move(fault))
{
}

FileTokens::Stamp FileTokens::stampOf(const std::string& path)
{
    // lstat: a symbolic link put in the file's place is a state of its own, which the read
    // then refuses.
    struct stat status
    {
    };
    if (::lstat(path.c_str(), &status) != 0)
    {
        return Stamp{errno, 0, 0, {}, 0};
    }
    return Stamp{0, status.st_dev, status.st_ino, status.st_mtim, status.st_size};
}

std::shared_ptr<const TokenTable> FileTokens::current()
{
    const auto stamp = stampOf(path_);
    const std::lock_guard lock(mutex_);
    if (read_ == stamp)
    {
        return table_;
    }
    // The file may change again between the lstat and the read; the next call then sees
    // another stamp and reads it once more.
    read_ = stamp;
    auto read = readTokensFile(path_);
    if (auto* records = std::get_if<TenantRecords>(&read))
    {
        table_ = std::make_shared<const TokenTable>(std::move(*records));
    }
    else
    {
        fault_(std::get<std::string>(read) + " The tokens read before it stay in force.");
    }
    return table_;
}

} // namespace pyrunner::auth
