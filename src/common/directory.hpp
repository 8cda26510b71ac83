#pragma once

namespace pyrunner::core
{

// Whether the directory open at `dirFd` holds nothing but "." and "..": one getdents64 call,
// which lists without opening or following any entry. Read errors count as not empty.
bool isEmptyDirectory(int dirFd);

} // namespace pyrunner::core
