#pragma once

#include "front/auth/token_table.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

namespace pyrunner::auth
{

// The tokens file as the running server sees it. Every call to current() stat()s the file
// and reads it again when it is another file or has changed, so that `pyrunnerd token
// create` or `revoke` counts from the next request on, with no thread watching the file and
// no period to wait. A missing file holds no tenants. A file that cannot be read or is not
// valid leaves the last good table in force (with none read yet: the empty one, so a broken
// file lets nobody in) and is reported once through `fault`, until it changes again.
class FileTokens
{
  public:
    using Fault = std::function<void(const std::string&)>;
    FileTokens(std::string path, Fault fault);

    // Safe to call from any thread.
    std::shared_ptr<const TokenTable> current();

  private:
    // What tells one state of the file from another: a rename puts a new inode there, and an
    // edit in place changes the time or the size. `error` is the errno of a failed lstat.
    struct Stamp
    {
        int error = 0;
        dev_t device = 0;
        ino_t inode = 0;
        std::timespec modified{};
        off_t size = 0;

        bool operator==(const Stamp& other) const;
    };
    static Stamp stampOf(const std::string& path);

    const std::string path_;
    const Fault fault_;
    std::mutex mutex_;
    // The state last read, good or bad; none before the first call.
    std::optional<Stamp> read_;
    std::shared_ptr<const TokenTable> table_ = std::make_shared<const TokenTable>();
};

} // namespace pyrunner::auth
