#include "front/auth/failure_throttle.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <netinet/in.h>

namespace pyrunner::auth
{

FailureThrottle::FailureThrottle(unsigned perMinute, std::size_t maxClients)
    : interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::minutes(1)) /
                std::max(perMinute, 1U)),
      burst_(interval_ * std::max(perMinute, 1U)), maxClients_(std::max<std::size_t>(maxClients, 1))
{
}

std::optional<std::chrono::seconds> FailureThrottle::refusedFor(std::string_view client,
                                                                Clock::time_point now) const
{
    const auto it = clients_.find(clientKey(client));
    if (it == clients_.end())
    {
        return std::nullopt;
    }
    // One more failure would take the bucket past empty: wait until one has dripped back.
    const auto wait = it->second.full - now - (burst_ - interval_);
    if (wait <= Clock::duration::zero())
    {
        return std::nullopt;
    }
    return std::max(std::chrono::ceil<std::chrono::seconds>(wait), std::chrono::seconds(1));
}

void FailureThrottle::failed(std::string_view client, Clock::time_point now)
{
    auto key = clientKey(client);
    auto it = clients_.find(key);
    if (it == clients_.end())
    {
        makeRoom(now);
        it = clients_.emplace(std::move(key), Client{now, now}).first;
    }
    auto& entry = it->second;
    // Never more than empty: failures while refused (if a caller counts them) do not lengthen
    // the wait beyond a full refill.
    entry.full = std::min(std::max(entry.full, now) + interval_, now + burst_);
    entry.lastFailed = now;
}

void FailureThrottle::makeRoom(Clock::time_point now)
{
    if (clients_.size() < maxClients_)
    {
        return;
    }
    std::erase_if(clients_, [now](const auto& item) { return item.second.full <= now; });
    if (clients_.size() < maxClients_)
    {
        return;
    }
    const auto oldest =
        std::min_element(clients_.begin(), clients_.end(), [](const auto& a, const auto& b) {
            return a.second.lastFailed < b.second.lastFailed;
        });
    clients_.erase(oldest);
}

std::string FailureThrottle::clientKey(std::string_view address)
{
    std::string text(address);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    {
        text = text.substr(1, text.size() - 2);
    }
    // A zone ("fe80::1%eth0") names the link, not the host.
    text = text.substr(0, text.find('%'));
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1)
    {
        return text;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1)
    {
        return std::string(address);
    }
    std::array<char, INET6_ADDRSTRLEN> buffer{};
    if (IN6_IS_ADDR_V4MAPPED(&v6))
    {
        constexpr std::size_t v4Offset = 12;
        std::memcpy(&v4, &v6.s6_addr[v4Offset], sizeof(v4));
        ::inet_ntop(AF_INET, &v4, buffer.data(), buffer.size());
        return buffer.data();
    }
    constexpr std::size_t prefixBytes = 8;
    std::fill(std::begin(v6.s6_addr) + prefixBytes, std::end(v6.s6_addr), 0);
    ::inet_ntop(AF_INET6, &v6, buffer.data(), buffer.size());
    return std::string(buffer.data()) + "/64";
}

} // namespace pyrunner::auth
