#pragma once

#include "front/auth/failure_throttle.hpp"
#include "front/auth/file_tokens.hpp"

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::auth
{

// Why a request was not let in, which the API answers as: Missing and Invalid 401 with
// "WWW-Authenticate: Bearer", Throttled 429 with "Retry-After: retryAfter".
struct AuthRefusal
{
    enum class Kind
    {
        // No Authorization header.
        Missing,
        // A header that is not "Bearer TOKEN", or a token no tenant holds (any more).
        Invalid,
        // The client failed too often; its header was not looked at.
        Throttled,
    };
    Kind kind;
    // Throttled: how long until the client may try again.
    std::chrono::seconds retryAfter{0};

    bool operator==(const AuthRefusal&) const = default;
};

// The token of "Bearer TOKEN": the scheme in any case, one or more spaces, the token, and
// nothing after it but spaces. Nothing for any other header; the token's shape is not checked.
std::optional<std::string_view> bearerToken(std::string_view authorizationHeader);

// Which tenant a request is from: the tokens file as it is now (FileTokens), and a
// FailureThrottle over the clients whose attempts failed. Safe to call from any thread.
class Authenticator
{
  public:
    using Clock = std::chrono::steady_clock;
    // `log` gets a sentence for each fault of the tokens file (once per state of the file) and
    // for each client that is locked out.
    Authenticator(std::string tokensFile, unsigned failedAttemptsPerMinute,
                  std::function<void(const std::string&)> log);

    // `client` is the peer's address (FailureThrottle::clientKey). A client that is locked out
    // is refused whatever it sends; otherwise a missing header is Missing (and no failure),
    // and a header that is not a tenant's bearer token is Invalid and counts as a failure.
    std::variant<Tenant, AuthRefusal>
    authenticate(std::optional<std::string_view> authorizationHeader, std::string_view client,
                 Clock::time_point now);

    // The tenant `name` as the file sets it now, as for runs taken over after a restart;
    // nothing once it is revoked.
    std::optional<Tenant> tenant(const std::string& name);
    // Every tenant's name, the admins' first, each group by name.
    std::vector<std::string> tenantNames();

  private:
    std::function<void(const std::string&)> log_;
    FileTokens tokens_;
    std::mutex throttleMutex_;
    FailureThrottle throttle_;
};

} // namespace pyrunner::auth
