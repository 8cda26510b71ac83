#include "cgroup/cgroup_files.hpp"

#include "common/text.hpp"

namespace pyrunner::systemd
{

using core::forEachLine;
using core::parseUnsigned;
using core::splitOnce;

std::optional<std::string> cgroupPathOf(std::string_view procSelfCgroup,
                                        std::string_view controller)
{
    std::optional<std::string> found;
    forEachLine(procSelfCgroup, [&](std::string_view line) {
        // hierarchy-id:controller-list:path
        const auto [id, rest] = splitOnce(line, ':');
        auto [controllers, path] = splitOnce(rest, ':');
        if (found || path.empty())
        {
            return;
        }
        if (controller.empty())
        {
            if (id == "0" && controllers.empty())
            {
                found = std::string(path);
            }
            return;
        }
        while (!controllers.empty())
        {
            const auto [name, others] = splitOnce(controllers, ',');
            if (name == controller)
            {
                found = std::string(path);
                return;
            }
            controllers = others;
        }
    });
    return found;
}

std::optional<std::uint64_t> keyedValue(std::string_view text, std::string_view key)
{
    std::optional<std::uint64_t> value;
    forEachLine(text, [&](std::string_view line) {
        const auto [name, number] = splitOnce(line, ' ');
        if (!value && name == key)
        {
            value = parseUnsigned(number);
        }
    });
    return value;
}

std::optional<std::uint64_t> numberFile(std::string_view text)
{
    const auto [line, rest] = splitOnce(text, '\n');
    return rest.empty() ? parseUnsigned(line) : std::nullopt;
}

std::optional<std::uint64_t> firstNumber(std::string_view text)
{
    const auto line = splitOnce(text, '\n').first;
    return parseUnsigned(splitOnce(line, ' ').first);
}

bool devicesListAllowsAll(std::string_view text)
{
    // A restricted cgroup lists what it allows, one line each, or nothing at all.
    const auto [line, rest] = splitOnce(text, '\n');
    return line == "a *:* rwm" && rest.empty();
}

} // namespace pyrunner::systemd
