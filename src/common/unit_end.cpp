#include "common/unit_end.hpp"

#include "common/text.hpp"

#include <array>
#include <csignal>
#include <cstring>
#include <utility>

namespace pyrunner::core
{
namespace
{

using TextField = std::optional<std::string> UnitEnd::*;

constexpr std::array<std::pair<std::string_view, TextField>, 3> textFields{{
    {"service_result", &UnitEnd::serviceResult},
    {"exit_code", &UnitEnd::exitCode},
    {"exit_status", &UnitEnd::exitStatus},
}};
constexpr std::string_view stoppedKey = "stopped_realtime_usec";

bool isWord(std::string_view text)
{
    constexpr std::size_t maxWordBytes = 64;
    if (text.empty() || text.size() > maxWordBytes)
    {
        return false;
    }
    for (const char c : text)
    {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '+';
        if (!allowed)
        {
            return false;
        }
    }
    return true;
}

std::optional<int> signalNumber(std::string_view name)
{
    for (int number = 1; number < NSIG; ++number)
    {
        const char* abbrev = ::sigabbrev_np(number);
        if (abbrev != nullptr && name == abbrev)
        {
            return number;
        }
    }
    return std::nullopt;
}

} // namespace

std::string formatUnitEnd(const UnitEnd& end)
{
    std::string text;
    for (const auto& [key, field] : textFields)
    {
        if (const auto& value = end.*field; value && isWord(*value))
        {
            text.append(key).append(" ").append(*value).append("\n");
        }
    }
    if (end.stoppedRealtimeUsec)
    {
        text.append(stoppedKey).append(" ").append(std::to_string(*end.stoppedRealtimeUsec));
        text.append("\n");
    }
    return text;
}

UnitEnd parseUnitEnd(std::string_view text)
{
    UnitEnd end;
    forEachLine(text, [&end](std::string_view line) {
        const auto [key, value] = splitOnce(line, ' ');
        if (key == stoppedKey)
        {
            end.stoppedRealtimeUsec = parseUnsigned(value);
            return;
        }
        for (const auto& [name, field] : textFields)
        {
            if (key == name && isWord(value))
            {
                end.*field = std::string(value);
            }
        }
    });
    return end;
}

std::optional<UnitOutcome> outcomeOf(const UnitEnd& end)
{
    if (!end.serviceResult)
    {
        return std::nullopt;
    }
    UnitOutcome outcome;
    outcome.started = true;
    outcome.result = *end.serviceResult;
    const auto status = end.exitStatus.value_or("");
    if (end.exitCode == "exited")
    {
        outcome.execMainCode = CLD_EXITED;
        outcome.execMainStatus = static_cast<int>(parseUnsigned(status).value_or(0));
    }
    else if (end.exitCode == "killed" || end.exitCode == "dumped")
    {
        outcome.execMainCode = end.exitCode == "killed" ? CLD_KILLED : CLD_DUMPED;
        outcome.execMainStatus = signalNumber(status).value_or(0);
    }
    return outcome;
}

} // namespace pyrunner::core
