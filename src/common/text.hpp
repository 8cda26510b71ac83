#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

namespace pyrunner::core
{

// A whole decimal number with nothing around it, or nothing.
std::optional<std::uint64_t> parseUnsigned(std::string_view text);

// Splits at the first `separator`; the second half is empty when there is none.
std::pair<std::string_view, std::string_view> splitOnce(std::string_view text, char separator);

void forEachLine(std::string_view text, const std::function<void(std::string_view)>& visit);

} // namespace pyrunner::core
