#include "common/text.hpp"

#include <charconv>

namespace pyrunner::core
{

std::optional<std::uint64_t> parseUnsigned(std::string_view text)
{
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end)
    {
        return std::nullopt;
    }
    return value;
}

std::pair<std::string_view, std::string_view> splitOnce(std::string_view text, char separator)
{
    const auto at = text.find(separator);
    if (at == std::string_view::npos)
    {
        return {text, {}};
    }
    return {text.substr(0, at), text.substr(at + 1)};
}

void forEachLine(std::string_view text, const std::function<void(std::string_view)>& visit)
{
    while (!text.empty())
    {
        const auto [line, rest] = splitOnce(text, '\n');
        visit(line);
        text = rest;
    }
}

} // namespace pyrunner::core
