#include "common/run_id.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <sys/random.h>

namespace pyrunner::core
{
namespace
{

constexpr std::size_t idBytes = 16;
constexpr std::string_view hexDigits = "0123456789abcdef";

} // namespace

std::string newRunId()
{
    std::array<std::uint8_t, idBytes> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    {
        throw std::runtime_error("getrandom failed");
    }
    std::string id;
    id.reserve(2 * idBytes);
    for (const auto byte : bytes)
    {
        id.push_back(hexDigits[byte >> 4U]);
        id.push_back(hexDigits[byte & 0xfU]);
    }
    return id;
}

bool isRunId(std::string_view text)
{
    return text.size() == 2 * idBytes &&
           text.find_first_not_of(hexDigits) == std::string_view::npos;
}

std::string unitNameFor(const std::string& runId)
{
    return "pyrunner-" + runId + ".service";
}

std::optional<std::string> runIdOfUnit(std::string_view unitName)
{
    constexpr std::string_view prefix = "pyrunner-";
    constexpr std::string_view suffix = ".service";
    if (!unitName.starts_with(prefix) || !unitName.ends_with(suffix))
    {
        return std::nullopt;
    }
    unitName.remove_prefix(prefix.size());
    unitName.remove_suffix(suffix.size());
    return isRunId(unitName) ? std::optional<std::string>(unitName) : std::nullopt;
}

} // namespace pyrunner::core
