#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// A key that signs callbacks: 32 bytes of getrandom(2) (256 bits) as 64 lowercase hex digits.
// The HMAC key is the text itself, as the operator hands it on, so that a receiver uses the
// string it was given without decoding it.
inline constexpr std::size_t callbackKeyLength = 64;

// A new key; throws std::runtime_error when getrandom fails.
std::string newCallbackKey();

// Whether `text` has the shape newCallbackKey() gives.
bool isCallbackKey(std::string_view text);

} // namespace pyrunner::core
