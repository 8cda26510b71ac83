#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// SHA-256 in lowercase hex.
std::string sha256Hex(std::string_view bytes);
// SHA-256 in lowercase hex of what `fd` holds from its start to its end; nothing when it cannot
// be read.
std::optional<std::string> sha256HexOfFile(int fd);

} // namespace pyrunner::core
