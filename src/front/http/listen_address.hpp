#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::http
{

struct ListenAddress
{
    std::string host;
    std::uint16_t port = 0;

    bool operator==(const ListenAddress&) const = default;
};

// "ADDR:PORT", with IPv6 addresses in brackets ("[::1]:8080"); nothing for anything else.
std::optional<ListenAddress> parseListenAddress(std::string_view text);

} // namespace pyrunner::http
