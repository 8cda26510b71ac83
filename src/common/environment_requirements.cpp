#include "common/environment_requirements.hpp"

#include "common/digest.hpp"

#include <algorithm>
#include <array>
#include <regex>

namespace pyrunner::core
{
namespace
{

constexpr std::string_view requirementsPrefix = "req-";
constexpr std::size_t nameHexDigits = 32;

// PEP 508 without URLs and markers: name, extras, comma-separated version specifiers.
const std::regex& requirementPattern()
{
    static const std::regex pattern(
        R"(([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])(\[[a-z0-9._-]+(,[a-z0-9._-]+)*\])?)"
        R"(((~=|===|==|!=|<=|>=|<|>)[a-z0-9.*+!_-]+(,(~=|===|==|!=|<=|>=|<|>)[a-z0-9.*+!_-]+)*)?)");
    return pattern;
}

std::string withoutSpaces(std::string_view text)
{
    std::string out;
    for (const char c : text)
    {
        if (c != ' ' && c != '\t')
        {
            out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    return out;
}

// "Foo_Bar..baz" -> "foo-bar-baz" (PEP 503).
std::string canonicalName(std::string_view name)
{
    std::string out;
    bool separator = false;
    for (const char c : name)
    {
        if (c == '-' || c == '_' || c == '.')
        {
            separator = true;
            continue;
        }
        if (separator && !out.empty())
        {
            out += '-';
        }
        separator = false;
        out += c;
    }
    return out;
}

} // namespace

std::variant<NormalisedRequirements, std::string>
normaliseRequirements(const std::vector<std::string>& requirements)
{
    if (requirements.size() > maxRequirements)
    {
        return "requirements may list at most " + std::to_string(maxRequirements) + " entries.";
    }
    NormalisedRequirements out;
    for (std::size_t i = 0; i < requirements.size(); ++i)
    {
        const auto& entry = requirements[i];
        const auto where = "requirements[" + std::to_string(i) + "]";
        if (entry.size() > maxRequirementBytes)
        {
            return where + " is longer than " + std::to_string(maxRequirementBytes) + " bytes.";
        }
        auto text = withoutSpaces(entry);
        if (!std::regex_match(text, requirementPattern()))
        {
            return where +
                   " must be a package name with optional extras and version specifiers, such "
                   "as \"pandas>=1.5\"; URLs, paths, markers and options are not accepted.";
        }
        const auto nameEnd = text.find_first_of("[~=!<>");
        out.entries.push_back(canonicalName(text.substr(0, nameEnd)) +
                              (nameEnd == std::string::npos ? "" : text.substr(nameEnd)));
    }
    std::sort(out.entries.begin(), out.entries.end());
    out.entries.erase(std::unique(out.entries.begin(), out.entries.end()), out.entries.end());
    return out;
}

std::string requirementsKey(const NormalisedRequirements& requirements)
{
    return sha256Hex(requirementsFile(requirements));
}

std::string requirementsEnvironmentName(const NormalisedRequirements& requirements)
{
    return std::string(requirementsPrefix) + requirementsKey(requirements).substr(0, nameHexDigits);
}

bool isRequirementsEnvironmentName(std::string_view name)
{
    if (!name.starts_with(requirementsPrefix) ||
        name.size() != requirementsPrefix.size() + nameHexDigits)
    {
        return false;
    }
    name.remove_prefix(requirementsPrefix.size());
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string requirementsFile(const NormalisedRequirements& requirements)
{
    std::string out;
    for (const auto& entry : requirements.entries)
    {
        out += entry + "\n";
    }
    return out;
}

} // namespace pyrunner::core
