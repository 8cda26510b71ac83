#include "broker/caller_check.hpp"

#include "protocol/broker_errors.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>

namespace pyrunner::systemd
{
namespace
{

// The bus answers at once unless something is badly wrong; the broker's one bus thread must
// not wait on it for sd-bus's default 25 s meanwhile.
constexpr auto lookupTimeout = std::chrono::seconds(2);
// Only the front's and root's connections get through the bus policy; a bound keeps a stream
// of reconnections from growing the cache.
constexpr std::size_t maxCallers = 64;

} // namespace

CallerCheck::CallerCheck(sdbus::IConnection& connection)
    : busDaemon_(sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus"))
{
}

CallerCheck::~CallerCheck() = default;

std::optional<Refusal> CallerCheck::require(const std::string& sender, std::uint32_t uid,
                                            std::string_view refusal)
{
    const auto found = uidOf(sender);
    if (const auto* problem = std::get_if<std::string>(&found))
    {
        return Refusal{broker::errors::failed,
                       "The broker cannot tell who is calling: " + *problem};
    }
    if (std::get<std::uint32_t>(found) != uid)
    {
        return Refusal{broker::errors::notAllowed, std::string(refusal)};
    }
    return std::nullopt;
}

void CallerCheck::forget(const std::string& uniqueName)
{
    uids_.erase(uniqueName);
}

std::variant<std::uint32_t, std::string> CallerCheck::uidOf(const std::string& sender)
{
    if (const auto known = uids_.find(sender); known != uids_.end())
    {
        return known->second;
    }
    std::uint32_t uid = 0;
    try
    {
        busDaemon_->callMethod("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withTimeout(lookupTimeout)
            .withArguments(sender)
            .storeResultsTo(uid);
    }
    catch (const sdbus::Error& e)
    {
        // Most often the caller left meanwhile, and no one reads the answer.
        return e.getMessage();
    }
    if (uids_.size() >= maxCallers)
    {
        uids_.clear();
    }
    uids_.emplace(sender, uid);
    return uid;
}

} // namespace pyrunner::systemd
