#include "broker/admission.hpp"

#include "common/environment_requirements.hpp"
#include "common/run_id.hpp"
#include "protocol/broker_errors.hpp"

#include <utility>

namespace pyrunner::systemd
{
namespace
{

std::optional<std::string> checkRequirements(const std::string& environment,
                                             const std::vector<std::string>& requirements)
{
    if (requirements.empty())
    {
        return std::nullopt;
    }
    const auto normalised = core::normaliseRequirements(requirements);
    if (const auto* problem = std::get_if<std::string>(&normalised))
    {
        return *problem;
    }
    const auto& list = std::get<core::NormalisedRequirements>(normalised);
    if (list.entries != requirements || core::requirementsEnvironmentName(list) != environment)
    {
        return "The requirements must come normalised, in the environment named after them.";
    }
    return std::nullopt;
}

} // namespace

std::optional<Refusal> checkRunId(const std::string& id)
{
    if (!core::isRunId(id))
    {
        return Refusal{broker::errors::invalidRun, "The run id must be 32 lowercase hex digits."};
    }
    return std::nullopt;
}

std::optional<Refusal> checkRun(const core::SandboxRun& run, const core::SandboxPolicy& policy)
{
    if (auto problem = core::checkSandboxRun(run, policy))
    {
        return Refusal{broker::errors::invalidRun, std::move(*problem)};
    }
    if (auto problem = checkRequirements(run.environment, run.requirements))
    {
        return Refusal{broker::errors::invalidRun, std::move(*problem)};
    }
    return std::nullopt;
}

std::variant<AdmittedRun, Refusal> placeRun(core::SandboxRun run,
                                            const std::optional<core::Interpreter>& interpreter,
                                            const std::optional<std::string>& warmEnvironment)
{
    if (!interpreter && run.requirements.empty())
    {
        return Refusal{broker::errors::noSuchEnvironment,
                       "There is no environment \"" + run.environment + "\"."};
    }
    if (interpreter)
    {
        run.interpreter = *interpreter;
    }
    if (warmEnvironment)
    {
        if (!run.requirements.empty() || *warmEnvironment != run.environment)
        {
            return Refusal{broker::errors::invalidRun,
                           "The run's warm unit was started for another environment."};
        }
        return AdmittedRun{StartPath::warm, std::move(run)};
    }
    return AdmittedRun{interpreter ? StartPath::cold : StartPath::afterBuild, std::move(run)};
}

std::variant<core::SandboxRun, Refusal>
admitWarmUnit(const std::string& id, const std::string& environment,
              const std::optional<core::Environment>& warmable, const core::Limits& defaults)
{
    if (!warmable)
    {
        // The name is the caller's: only a well-formed one goes into the sentence.
        return Refusal{broker::errors::noSuchEnvironment,
                       "There is no environment \"" +
                           (core::isEnvironmentName(environment)
                                ? environment
                                : std::string("with a malformed name")) +
                           "\" that warm units may run."};
    }
    core::SandboxRun prepared;
    prepared.id = id;
    prepared.limits = defaults;
    // As a cold StartRun resolves it, so the run finds the same interpreter at handover.
    prepared.environment = environment;
    prepared.interpreter = warmable->interpreter;
    prepared.preImports = warmable->checkImports;
    return prepared;
}

} // namespace pyrunner::systemd
