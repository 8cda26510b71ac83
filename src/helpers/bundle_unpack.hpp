#pragma once

#include <optional>
#include <string>

namespace pyrunner::helpers
{

// Unpacks the files bundle at `bundlePath` (a tar the front wrote, files_in.hpp) into the
// current directory, checking every entry again on the way: regular files and directories
// only, each path by the files' path rule and not under out/, nothing over what exists and
// nothing through a symlink. The front's checks are not trusted alone: this runs in the run's
// unit, where a fault in them must still not write outside the working directory. Returns
// why it stopped, one sentence, or nothing when every entry is in place.
std::optional<std::string> unpackBundle(const std::string& bundlePath);

} // namespace pyrunner::helpers
