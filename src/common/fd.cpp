#include "common/fd.hpp"

#include <unistd.h>

namespace pyrunner::core
{

void UniqueFd::reset(int fd)
{
    if (fd_ >= 0)
    {
        ::close(fd_);
    }
    fd_ = fd;
}

} // namespace pyrunner::core
