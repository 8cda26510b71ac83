#include "front/callbacks/signature.hpp"

#include <array>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdexcept>

namespace pyrunner::core
{

std::string hmacSha256Hex(std::string_view key, std::string_view body)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(),
             &size) == nullptr)
    {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    constexpr std::string_view digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(std::size_t{2} * size);
    for (unsigned int i = 0; i < size; ++i)
    {
        hex += digits[mac.at(i) >> 4U];
        hex += digits[mac.at(i) & 0xfU];
    }
    return hex;
}

std::string callbackSignature(std::string_view key, std::string_view body)
{
    return "sha256=" + hmacSha256Hex(key, body);
}

} // namespace pyrunner::core
