#pragma once

#include "broker/refusal.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sdbus
{
class IConnection;
class IProxy;
} // namespace sdbus

namespace pyrunner::systemd
{

// Who is calling: the uid the bus took from a caller's socket when it connected, asked of the
// bus once per caller. The bus never gives a unique name to a second connection, so one
// answer per name holds for good. On the bus thread only.
class CallerCheck
{
  public:
    explicit CallerCheck(sdbus::IConnection& connection);
    ~CallerCheck();
    CallerCheck(const CallerCheck&) = delete;
    CallerCheck& operator=(const CallerCheck&) = delete;
    CallerCheck(CallerCheck&&) = delete;
    CallerCheck& operator=(CallerCheck&&) = delete;

    // Nothing when the connection `sender` (a unique bus name) is user `uid`'s; else
    // NotAllowed with `refusal`, or Failed when the bus cannot say who it is.
    std::optional<Refusal> require(const std::string& sender, std::uint32_t uid,
                                   std::string_view refusal);
    // The connection left the bus.
    void forget(const std::string& uniqueName);

  private:
    // The caller's uid, or why the bus did not tell it.
    std::variant<std::uint32_t, std::string> uidOf(const std::string& sender);

    std::unique_ptr<sdbus::IProxy> busDaemon_;
    std::map<std::string, std::uint32_t> uids_;
};

} // namespace pyrunner::systemd
