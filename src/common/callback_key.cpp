#include "common/callback_key.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <sys/random.h>

namespace pyrunner::core
{
namespace
{

constexpr std::string_view hexDigits = "0123456789abcdef";

} // namespace

std::string newCallbackKey()
{
    std::array<std::uint8_t, callbackKeyLength / 2> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    {
        throw std::runtime_error("getrandom failed");
    }
    std::string key;
    key.reserve(callbackKeyLength);
    for (const auto byte : bytes)
    {
        key.push_back(hexDigits[byte >> 4U]);
        key.push_back(hexDigits[byte & 0xfU]);
    }
    return key;
}

bool isCallbackKey(std::string_view text)
{
    return text.size() == callbackKeyLength &&
           text.find_first_not_of(hexDigits) == std::string_view::npos;
}

} // namespace pyrunner::core
