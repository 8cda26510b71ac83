#pragma once

#include <filesystem>
#include <string>

namespace pyrunner::core
{

// The key that signs every callback of a server without authentication, where no tenant has a
// key of its own: read from `file`, or made (core::newCallbackKey) and written there, mode
// 0600, on first need. The file is opened without following a symbolic link and must be a
// regular file holding the key and a line break. Throws std::runtime_error naming the file.
std::string serverCallbackKey(const std::filesystem::path& file);

} // namespace pyrunner::core
