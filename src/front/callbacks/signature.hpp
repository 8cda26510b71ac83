#pragma once

#include <string>
#include <string_view>

namespace pyrunner::core
{

// HMAC-SHA256 of `body` under `key`, in lowercase hex.
std::string hmacSha256Hex(std::string_view key, std::string_view body);

// The X-Pyrunner-Signature header's value: "sha256=" and hmacSha256Hex(key, body).
std::string callbackSignature(std::string_view key, std::string_view body);

} // namespace pyrunner::core
