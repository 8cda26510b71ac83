#include "front/http/listen_address.hpp"

#include "common/text.hpp"

#include <limits>

namespace pyrunner::http
{

std::optional<ListenAddress> parseListenAddress(std::string_view text)
{
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
    {
        return std::nullopt;
    }
    auto host = text.substr(0, colon);
    const auto port = core::parseUnsigned(text.substr(colon + 1));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    {
        host = host.substr(1, host.size() - 2);
    }
    else if (host.find(':') != std::string_view::npos)
    {
        return std::nullopt;
    }
    if (host.empty() || !port || *port == 0 || *port > std::numeric_limits<std::uint16_t>::max())
    {
        return std::nullopt;
    }
    return ListenAddress{std::string(host), static_cast<std::uint16_t>(*port)};
}

} // namespace pyrunner::http
