#include "common/sandbox_policy.hpp"

#include "common/file_paths.hpp"
#include "common/run_id.hpp"

#include <array>
#include <utility>

namespace pyrunner::core
{
namespace
{

std::optional<std::string> checkLimits(const Limits& limits, const Limits& maxima)
{
    const std::array<std::tuple<const char*, std::uint64_t, std::uint64_t>, 9> fields{{
        {"wall_time_s", limits.wallTimeS, maxima.wallTimeS},
        {"cpu_time_s", limits.cpuTimeS, maxima.cpuTimeS},
        {"memory_mb", limits.memoryMb, maxima.memoryMb},
        {"cpu_percent", limits.cpuPercent, maxima.cpuPercent},
        {"tasks", limits.tasks, maxima.tasks},
        {"output_bytes", limits.outputBytes, maxima.outputBytes},
        {"disk_mb", limits.diskMb, maxima.diskMb},
        {"files_count", limits.filesCount, maxima.filesCount},
        {"files_bytes", limits.filesBytes, maxima.filesBytes},
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

namespace
{

// The entry is a path in the run's working directory, which the unit's command line names: it
// must be one of the files the run brings (the unpacker checked them all), so it follows their
// rule, and the run then has no code of its own.
std::optional<std::string> checkEntry(const SandboxRun& run)
{
    if (run.entry.empty())
    {
        return std::nullopt;
    }
    if (auto problem = filePathProblem(run.entry))
    {
        return "The entry " + *problem + ".";
    }
    if (!run.code.empty())
    {
        return "A run with an entry has no code of its own.";
    }
    if (!run.filesIn)
    {
        return "A run with an entry must bring files.";
    }
    return std::nullopt;
}

} // namespace

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
    if (auto problem = checkEntry(run))
    {
        return problem;
    }
    return checkLimits(run.limits, policy.limits.maxima);
}

} // namespace pyrunner::core
