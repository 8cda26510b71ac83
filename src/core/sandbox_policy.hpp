#pragma once

#include "core/limits.hpp"
#include "core/sandbox.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace pyrunner::core
{

// What the privileged broker accepts, whatever the HTTP front says: it checks every field
// again, so a compromised front can ask for nothing beyond the operator's maxima.
struct SandboxPolicy
{
    LimitPolicy limits = LimitPolicy::forCpus(1);
    std::size_t maxCodeBytes = 1024ULL * 1024ULL;
    std::size_t maxStdinBytes = 2ULL * 1024ULL * 1024ULL;
    // argv of the run, NUL terminators included; the kernel's own limit is about 2 MiB.
    std::size_t maxArgsBytes = 1024ULL * 1024ULL;
};

// A sentence saying what is wrong with the run, or nothing when the broker may start it.
std::optional<std::string> checkSandboxRun(const SandboxRun& run, const SandboxPolicy& policy);

} // namespace pyrunner::core
