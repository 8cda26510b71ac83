#pragma once

#include "common/limits.hpp"
#include "common/sandbox.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pyrunner::core
{

// What the privileged broker accepts, whatever the HTTP front says: it checks every field
// again, so a compromised front can ask for nothing beyond the operator's maxima.
struct SandboxPolicy
{
    LimitPolicy limits = LimitPolicy::forCpus(1);
    std::size_t maxCodeBytes = 1024ULL * 1024ULL;
    std::size_t maxStdinBytes = 2ULL * 1024ULL * 1024ULL;
    // The arguments' share of the command line (see commandLineBytes); the kernel's own
    // limit for all of argv and the environment is about 2 MiB.
    std::size_t maxArgsBytes = 1024ULL * 1024ULL;
};

// What arguments cost execve(): each string, its NUL, and its pointer in argv.
std::size_t commandLineBytes(const std::vector<std::string>& args);

// A sentence saying what is wrong with the run, or nothing when the broker may start it.
std::optional<std::string> checkSandboxRun(const SandboxRun& run, const SandboxPolicy& policy);

} // namespace pyrunner::core
