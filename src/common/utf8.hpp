#pragma once

#include <string>
#include <string_view>

namespace pyrunner::core
{

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF).
bool isValidUtf8(std::string_view bytes);

// `bytes` with each maximal ill-formed subsequence replaced by U+FFFD, the way the Unicode
// standard recommends (and browsers decode): valid input comes back unchanged.
std::string toValidUtf8(std::string_view bytes);

// Client text to quote in an error message: valid UTF-8, cut to about `maxBytes` so a huge
// value does not come back whole.
std::string excerpt(std::string_view text, std::size_t maxBytes = 64);

} // namespace pyrunner::core
