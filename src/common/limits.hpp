#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace pyrunner::core
{

// Resource limits of one run, as the API names them.
struct Limits
{
    std::uint32_t wallTimeS = 10;
    std::uint32_t cpuTimeS = 10;
    std::uint32_t memoryMb = 256;
    std::uint32_t cpuPercent = 100;
    std::uint32_t tasks = 64;
    std::uint64_t outputBytes = 1024ULL * 1024ULL;
    // Every place the run can write (its working directory, /tmp, /var/tmp, /dev/shm and its
    // home), together.
    std::uint32_t diskMb = 512;
    // What the run may bring in files and leave in out/: how many files, and their bytes
    // (uncompressed), each way.
    std::uint32_t filesCount = 100;
    std::uint64_t filesBytes = 16ULL * 1024ULL * 1024ULL;

    bool operator==(const Limits&) const = default;
};

// What a request asked for; an absent field takes the server default.
struct LimitRequest
{
    std::optional<std::uint64_t> wallTimeS;
    std::optional<std::uint64_t> cpuTimeS;
    std::optional<std::uint64_t> memoryMb;
    std::optional<std::uint64_t> cpuPercent;
    std::optional<std::uint64_t> tasks;
    std::optional<std::uint64_t> outputBytes;
    std::optional<std::uint64_t> diskMb;
    std::optional<std::uint64_t> filesCount;
    std::optional<std::uint64_t> filesBytes;
};

// The operator's defaults and maxima. A request above a maximum is refused, never clamped.
struct LimitPolicy
{
    Limits defaults;
    Limits maxima;
    // cpu_time_s defaults to the run's wall time when the request names only wall_time_s.
    bool cpuFollowsWall = true;

    static LimitPolicy forCpus(unsigned cpus);
};

struct LimitError
{
    std::string message;
};

// Applies defaults and checks every field against its range; the message names the limit.
std::variant<Limits, LimitError> resolveLimits(const LimitRequest& request,
                                               const LimitPolicy& policy);

} // namespace pyrunner::core
