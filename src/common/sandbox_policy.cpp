#include "common/sandbox_policy.hpp"

#include "common/run_id.hpp"

#include <array>
#include <utility>

namespace pyrunner::core
{
namespace
{

std::optional<std::string> checkLimits(const Limits& limits, const Limits& maxima)
{
    const std::array<std::tuple<const char*, std::uint64_t, std::uint64_t>, 7> fields{{
        {"wall_time_s", limits.wallTimeS, maxima.wallTimeS},
        {"cpu_time_s", limits.cpuTimeS, maxima.cpuTimeS},
        {"memory_mb", limits.memoryMb, maxima.memoryMb},
        {"cpu_percent", limits.cpuPercent, maxima.cpuPercent},
        {"tasks", limits.tasks, maxima.tasks},
        {"output_bytes", limits.outputBytes, maxima.outputBytes},
        {"disk_mb", limits.diskMb, maxima.diskMb},
    }};
    for (const auto& [name, value, maximum] : fields)
    {
        if (value < 1 || value > maximum)
        {
            return std::string("limits.") + name + " must be between 1 and " +
                   std::to_string(maximum) + ".";
        }
    }
    return std::nullopt;
}

std::optional<std::string> checkArgs(const std::vector<std::string>& args, std::size_t maxBytes)
{
    for (const auto& arg : args)
    {
        if (arg.find('\0') != std::string::npos)
        {
            return "An argument contains a NUL byte.";
        }
    }
    const auto total = commandLineBytes(args);
    if (total > maxBytes)
    {
        return "The arguments take " + std::to_string(total) + " bytes; at most " +
               std::to_string(maxBytes) + " are allowed.";
    }
    return std::nullopt;
}

} // namespace

std::size_t commandLineBytes(const std::vector<std::string>& args)
{
    std::size_t total = 0;
    for (const auto& arg : args)
    {
        total += arg.size() + 1 + sizeof(char*);
    }
    return total;
}

std::optional<std::string> checkSandboxRun(const SandboxRun& run, const SandboxPolicy& policy)
{
    if (!isRunId(run.id))
    {
        return "The run id must be 32 lowercase hex digits.";
    }
    if (run.code.size() > policy.maxCodeBytes)
    {
        return "The code is larger than " + std::to_string(policy.maxCodeBytes) + " bytes.";
    }
    if (run.stdinData.size() > policy.maxStdinBytes)
    {
        return "stdin is larger than " + std::to_string(policy.maxStdinBytes) + " bytes.";
    }
    if (auto problem = checkArgs(run.args, policy.maxArgsBytes))
    {
        return problem;
    }
    return checkLimits(run.limits, policy.limits.maxima);
}

} // namespace pyrunner::core
