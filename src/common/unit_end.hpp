#pragma once

#include "common/sandbox.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// How systemd says a run's unit ended, as it tells the unit's ExecStopPost helper
// ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS; systemd.exec(5)). The helper writes it beside
// the cgroup figures, so a run that ended while no server was watching still has its
// outcome from systemd itself.
struct UnitEnd
{
    // success, exit-code, signal, timeout, core-dump, oom-kill, ...
    std::optional<std::string> serviceResult;
    // exited, killed or dumped.
    std::optional<std::string> exitCode;
    // A number for exited, a signal name without "SIG" otherwise.
    std::optional<std::string> exitStatus;
    // CLOCK_REALTIME microseconds when the helper ran, just after the run's processes ended.
    std::optional<std::uint64_t> stoppedRealtimeUsec;

    bool operator==(const UnitEnd&) const = default;
};

// "key value" lines, the form of the cgroup figures they share a file with; values are
// systemd's own words, which hold no spaces, and anything else is dropped.
std::string formatUnitEnd(const UnitEnd& end);
UnitEnd parseUnitEnd(std::string_view text);

// The outcome as the live path would have read it from the unit's properties, without
// times (the record has none); nothing when the record holds no result.
std::optional<UnitOutcome> outcomeOf(const UnitEnd& end);

} // namespace pyrunner::core
