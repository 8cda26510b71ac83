#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pyrunner::auth
{

// How many failed authentications each client may make: a bucket of `perMinute` that
// refills at `perMinute` a minute. A client whose bucket is empty is refused until it holds
// one again, without its token being looked at, so that guessing learns nothing faster than
// the rate allows. Pure: the caller passes the time and serialises calls.
class FailureThrottle
{
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t defaultMaxClients = 4096;

    explicit FailureThrottle(unsigned perMinute, std::size_t maxClients = defaultMaxClients);

    // How long `client` must wait before its next attempt, rounded up to whole seconds (at
    // least 1); nothing if it may try now.
    std::optional<std::chrono::seconds> refusedFor(std::string_view client,
                                                   Clock::time_point now) const;
    // One failed attempt of `client`. At most maxClients are remembered: when a new one comes
    // and there is no room, those whose buckets are full again are forgotten first (they are
    // no different from a client never seen), then the one whose last failure is the oldest.
    void failed(std::string_view client, Clock::time_point now);

    std::size_t clients() const { return clients_.size(); }

    // The key a client address is counted under: an IPv6 address by its /64, which a single
    // host may use all of ("2001:db8:1:2::/64"); an IPv4 address (or one mapped into IPv6) by
    // itself; anything else as it is.
    static std::string clientKey(std::string_view address);

  private:
    struct Client
    {
        // When the bucket is full again: each failure pushes it one interval further, from
        // now at the earliest (the generic cell rate algorithm's theoretical arrival time).
        Clock::time_point full;
        Clock::time_point lastFailed;
    };
    void makeRoom(Clock::time_point now);

    Clock::duration interval_;
    Clock::duration burst_;
    std::size_t maxClients_;
    std::unordered_map<std::string, Client> clients_;
};

} // namespace pyrunner::auth
