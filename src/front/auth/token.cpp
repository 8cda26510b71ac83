#include "front/auth/token.hpp"

#include "common/digest.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <sys/random.h>

namespace pyrunner::auth
{
namespace
{

constexpr std::string_view base64url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr unsigned bitsPerCharacter = 6;
constexpr std::uint32_t characterMask = 0x3fU;
constexpr unsigned bitsPerByte = 8;

} // namespace

std::string newToken()
{
    std::array<std::uint8_t, tokenRandomBytes> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    {
        throw std::runtime_error("getrandom failed");
    }
    std::string token(tokenPrefix);
    token.reserve(tokenLength);
    std::uint32_t bits = 0;
    unsigned held = 0;
    for (const auto byte : bytes)
    {
        bits = (bits << bitsPerByte) | byte;
        held += bitsPerByte;
        while (held >= bitsPerCharacter)
        {
            held -= bitsPerCharacter;
            token.push_back(base64url[(bits >> held) & characterMask]);
        }
    }
    // The last 4 bits, padded with zeros to a character.
    token.push_back(base64url[(bits << (bitsPerCharacter - held)) & characterMask]);
    return token;
}

bool isTokenShape(std::string_view text)
{
    if (text.size() != tokenLength || !text.starts_with(tokenPrefix))
    {
        return false;
    }
    const auto encoded = text.substr(tokenPrefix.size());
    if (encoded.find_first_not_of(base64url) != std::string_view::npos)
    {
        return false;
    }
    // The last character carries 4 bits and 2 zeros: any other is not what newToken() writes.
    constexpr std::size_t unusedBits = 0x3U;
    return (base64url.find(encoded.back()) & unusedBits) == 0;
}

std::string tokenHash(std::string_view token)
{
    return core::sha256Hex(token);
}

std::string tokenIdOf(std::string_view hash)
{
    return std::string(hash.substr(0, tokenIdLength));
}

} // namespace pyrunner::auth
