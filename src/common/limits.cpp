#include "common/limits.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace pyrunner::core
{
namespace
{

constexpr std::uint64_t mebibyte = 1024ULL * 1024ULL;

// One limit as the API names it, with where it lives in each struct.
template <typename T> struct Field
{
    std::string_view name;
    T Limits::*value;
    std::optional<std::uint64_t> LimitRequest::*requested;
};

// Takes the requested value (or the default) and checks it against 1..maximum.
template <typename T>
std::optional<LimitError> resolveField(const Field<T>& field, std::optional<std::uint64_t> chosen,
                                       const LimitPolicy& policy, Limits& out)
{
    const std::uint64_t maximum = policy.maxima.*field.value;
    const std::uint64_t value = chosen.value_or(policy.defaults.*field.value);
    if (value < 1 || value > maximum)
    {
        return LimitError{"limits." + std::string(field.name) + " must be between 1 and " +
                          std::to_string(maximum) + "."};
    }
    out.*field.value = static_cast<T>(value);
    return std::nullopt;
}

} // namespace

LimitPolicy LimitPolicy::forCpus(unsigned cpus)
{
    LimitPolicy policy;
    policy.defaults = Limits{};
    policy.maxima = Limits{
        .wallTimeS = 60,
        .cpuTimeS = 60,
        .memoryMb = 2048,
        .cpuPercent = 100 * std::max(cpus, 1U),
        .tasks = 256,
        .outputBytes = 16 * mebibyte,
        .diskMb = 4096,
        .filesCount = 10000,
        .filesBytes = 256 * mebibyte,
    };
    return policy;
}

std::variant<Limits, LimitError> resolveLimits(const LimitRequest& request,
                                               const LimitPolicy& policy)
{
    Limits limits;
    const std::array<Field<std::uint32_t>, 7> smallFields{{
        {"wall_time_s", &Limits::wallTimeS, &LimitRequest::wallTimeS},
        {"cpu_time_s", &Limits::cpuTimeS, &LimitRequest::cpuTimeS},
        {"memory_mb", &Limits::memoryMb, &LimitRequest::memoryMb},
        {"cpu_percent", &Limits::cpuPercent, &LimitRequest::cpuPercent},
        {"tasks", &Limits::tasks, &LimitRequest::tasks},
        {"disk_mb", &Limits::diskMb, &LimitRequest::diskMb},
        {"files_count", &Limits::filesCount, &LimitRequest::filesCount},
    }};
    for (const auto& field : smallFields)
    {
        auto chosen = request.*field.requested;
        // A run that asks for more wall time gets as much CPU time, up to what the operator
        // allows: the user did not ask for that CPU time, so holding it to the maximum is no
        // silent clamp of a request.
        if (field.requested == &LimitRequest::cpuTimeS && !chosen && policy.cpuFollowsWall &&
            request.wallTimeS)
        {
            chosen = std::min<std::uint64_t>(limits.wallTimeS, policy.maxima.cpuTimeS);
        }
        if (auto error = resolveField(field, chosen, policy, limits))
        {
            return *error;
        }
    }
    const std::array<Field<std::uint64_t>, 2> largeFields{{
        {"output_bytes", &Limits::outputBytes, &LimitRequest::outputBytes},
        {"files_bytes", &Limits::filesBytes, &LimitRequest::filesBytes},
    }};
    for (const auto& field : largeFields)
    {
        if (auto error = resolveField(field, request.*field.requested, policy, limits))
        {
            return *error;
        }
    }
    return limits;
}

} // namespace pyrunner::core
