#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::core
{

inline constexpr std::size_t maxRequirements = 32;
inline constexpr std::size_t maxRequirementBytes = 200;

// A run's `requirements` in one canonical form: each entry checked and written the one way
// (name lowercase with '-' for runs of '-', '_' and '.'; no spaces), sorted, without
// duplicates. Lists that mean the same install share one environment.
struct NormalisedRequirements
{
    std::vector<std::string> entries;
};

// The normalised list, or a sentence naming the first entry that is not a plain requirement.
// Only names, extras and version specifiers are accepted: no URLs, paths, markers or
// installer options, so a request can only choose among what the operator's index or wheel
// directory offers.
std::variant<NormalisedRequirements, std::string>
normaliseRequirements(const std::vector<std::string>& requirements);

// SHA-256 of the normalised list, in lowercase hex.
std::string requirementsKey(const NormalisedRequirements& requirements);

// The environment a run with these requirements runs in: "req-" and the first 32 hex digits
// of the key.
std::string requirementsEnvironmentName(const NormalisedRequirements& requirements);

// Whether the name is one requirementsEnvironmentName gives.
bool isRequirementsEnvironmentName(std::string_view name);

// The requirements file the installer reads: one entry a line.
std::string requirementsFile(const NormalisedRequirements& requirements);

} // namespace pyrunner::core
