#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::core
{

// The longest callback URL a run may name.
inline constexpr std::size_t maxCallbackUrlBytes = 2048;

// Nothing when `url` is one the server may post to: "http://" or "https://" (lowercase), a host
// without user information, at most maxCallbackUrlBytes, no whitespace, control character or
// backslash, and no "." or ".." path segment (which a client or a receiver would fold away,
// stepping out of an allowed prefix). Otherwise the sentence why not.
std::optional<std::string> callbackUrlFault(std::string_view url);

// Whether `url` lies under `prefix`: it starts with it, and the prefix ends at a boundary of
// the URL (the prefix ends with '/', or the URL goes on with '/', '?', '#' or nothing), so that
// "https://hooks.example" does not let "https://hooks.example.evil" or
// "https://hooks.example:8443" through.
bool isUnderPrefix(std::string_view url, std::string_view prefix);

// Nothing when `url` is a valid callback URL under one of `allow`; otherwise one sentence for
// the submitter, which for an empty `allow` says that this server takes no callbacks.
std::optional<std::string> callbackUrlRefusal(std::string_view url,
                                              const std::vector<std::string>& allow);

} // namespace pyrunner::core
