#include "front/auth/authenticator.hpp"

#include <algorithm>
#include <cctype>

namespace pyrunner::auth
{

std::optional<std::string_view> bearerToken(std::string_view header)
{
    constexpr std::string_view scheme = "bearer";
    if (header.size() <= scheme.size() ||
        !std::equal(
            scheme.begin(), scheme.end(), header.begin(),
            [](char expected, char c) {
        return std::tolower(static_cast<unsigned char>(c)) == expected;
            }) ||
        header[scheme.size()] != ' ')
    {
        return std::nullopt;
    }
    header.remove_prefix(scheme.size());
    header.remove_prefix(std::min(header.find_first_not_of(' '), header.size()));
    const auto end = std::min(header.find(' '), header.size());
    if (end == 0 || header.find_first_not_of(' ', end) != std::string_view::npos)
    {
        return std::nullopt;
    }
    return header.substr(0, end);
}

Authenticator::Authenticator(std::string tokensFile, unsigned failedAttemptsPerMinute,
                             std::function<void(const std::string&)> log)
    : log_(std::move(log)), tokens_(std::move(tokensFile), log_), throttle_(failedAttemptsPerMinute)
{
}

std::variant<Tenant, AuthRefusal>
Authenticator::authenticate(std::optional<std::string_view> authorizationHeader,
                            std::string_view client, Clock::time_point now)
{
    {
        const std::lock_guard lock(throttleMutex_);
        if (const auto wait = throttle_.refusedFor(client, now))
        {
            return AuthRefusal{AuthRefusal::Kind::Throttled, *wait};
        }
    }
    if (!authorizationHeader)
    {
        return AuthRefusal{AuthRefusal::Kind::Missing};
    }
    const auto token = bearerToken(*authorizationHeader);
    if (token)
    {
        if (auto tenant = tokens_.current()->find(*token))
        {
            return *std::move(tenant);
        }
    }
    const std::lock_guard lock(throttleMutex_);
    throttle_.failed(client, now);
    if (const auto wait = throttle_.refusedFor(client, now))
    {
        log_("pyrunnerd refuses " + FailureThrottle::clientKey(client) + " for " +
             std::to_string(wait->count()) + " s: too many failed authentications");
    }
    return AuthRefusal{AuthRefusal::Kind::Invalid};
}

std::optional<Tenant> Authenticator::tenant(const std::string& name)
{
    return tokens_.current()->tenant(name);
}

std::vector<std::string> Authenticator::tenantNames()
{
    const auto table = tokens_.current();
    std::vector<std::string> names;
    for (const bool admins : {true, false})
    {
        for (const auto& record : table->records())
        {
            if (record.tenant.admin == admins)
            {
                names.push_back(record.tenant.name);
            }
        }
    }
    return names;
}

} // namespace pyrunner::auth
