#pragma once

#include <string>
#include <string_view>

namespace pyrunner::auth
{

// A token is "pyr_" and 32 bytes of getrandom(2) in base64url without padding: 256 random
// bits, URL-safe, and recognisable in a leaked log or a secret scanner.
inline constexpr std::string_view tokenPrefix = "pyr_";
inline constexpr std::size_t tokenRandomBytes = 32;
// 43 base64url characters carry the 256 bits, the last only 4 of its 6.
inline constexpr std::size_t tokenLength = tokenPrefix.size() + 43;

// A new token; throws std::runtime_error when getrandom fails.
std::string newToken();

// Whether `text` has exactly the shape newToken() gives; anything else cannot be a token and
// is refused without a lookup.
bool isTokenShape(std::string_view text);

// What the tokens file keeps of a token: SHA-256 of the whole token, in lowercase hex. A fast
// hash is right here: a token is 256 random bits, so there is no dictionary to try and no
// amount of hashing an attacker could shorten; a slow hash would only slow every request.
std::string tokenHash(std::string_view token);

// How a token is named in listings and `revoke --id`: the first 12 hex digits of its hash,
// which says nothing of the token itself.
inline constexpr std::size_t tokenIdLength = 12;
std::string tokenIdOf(std::string_view hash);

} // namespace pyrunner::auth
