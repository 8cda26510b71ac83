#include "common/callback_url.hpp"

#include <algorithm>
#include <array>

namespace pyrunner::core
{
namespace
{

constexpr std::array<std::string_view, 2> schemes{"http://", "https://"};

bool isControlOrSpace(char c)
{
    const auto byte = static_cast<unsigned char>(c);
    constexpr unsigned char del = 0x7f;
    return byte <= ' ' || byte == del;
}

// The path's segments, from the first '/' after the authority to a '?' or '#'.
bool hasDotSegment(std::string_view path)
{
    path = path.substr(0, path.find_first_of("?#"));
    while (!path.empty())
    {
        path.remove_prefix(1);
        const auto end = path.find('/');
        const auto segment = path.substr(0, end);
        if (segment == "." || segment == "..")
        {
            return true;
        }
        if (end == std::string_view::npos)
        {
            break;
        }
        path.remove_prefix(end);
    }
    return false;
}

} // namespace

std::optional<std::string> callbackUrlFault(std::string_view url)
{
    if (url.size() > maxCallbackUrlBytes)
    {
        return "callback_url is longer than " + std::to_string(maxCallbackUrlBytes) + " bytes.";
    }
    if (std::any_of(url.begin(), url.end(), isControlOrSpace))
    {
        return std::string("callback_url must not contain whitespace or control characters.");
    }
    if (url.find('\\') != std::string_view::npos)
    {
        return std::string("callback_url must not contain a backslash.");
    }
    const auto* scheme = std::find_if(schemes.begin(), schemes.end(),
                                      [url](auto s) { return url.substr(0, s.size()) == s; });
    if (scheme == schemes.end())
    {
        return std::string("callback_url must start with http:// or https://.");
    }
    const auto rest = url.substr(scheme->size());
    const auto authorityEnd = rest.find_first_of("/?#");
    const auto authority = rest.substr(0, authorityEnd);
    if (authority.empty())
    {
        return std::string("callback_url must name a host.");
    }
    if (authority.find('@') != std::string_view::npos)
    {
        return std::string("callback_url must not carry a user name or password.");
    }
    if (authorityEnd != std::string_view::npos && rest[authorityEnd] == '/' &&
        hasDotSegment(rest.substr(authorityEnd)))
    {
        return std::string("callback_url must not have a \".\" or \"..\" path segment.");
    }
    return std::nullopt;
}

bool isUnderPrefix(std::string_view url, std::string_view prefix)
{
    if (prefix.empty() || url.substr(0, prefix.size()) != prefix)
    {
        return false;
    }
    if (prefix.back() == '/' || url.size() == prefix.size())
    {
        return true;
    }
    const char next = url[prefix.size()];
    return next == '/' || next == '?' || next == '#';
}

std::optional<std::string> callbackUrlRefusal(std::string_view url,
                                              const std::vector<std::string>& allow)
{
    if (allow.empty())
    {
        return std::string("This server accepts no callback_url: its operator has allowed no "
                           "callback prefix ([callbacks] allow).");
    }
    if (auto fault = callbackUrlFault(url))
    {
        return fault;
    }
    if (std::none_of(allow.begin(), allow.end(),
                     [url](const std::string& prefix) { return isUnderPrefix(url, prefix); }))
    {
        // The operator's prefixes name hosts inside its network, which submitters need not learn.
        return std::string("callback_url is not under a prefix this server allows ([callbacks] "
                           "allow); its operator can say which.");
    }
    return std::nullopt;
}

} // namespace pyrunner::core
