#include "broker/admission.hpp"

#include "common/environment_requirements.hpp"
#include "common/run_id.hpp"
#include "common/tenant.hpp"
#include "protocol/broker_errors.hpp"

#include <string>
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

std::optional<Refusal> checkSlice(const core::TenantSlice& slice)
{
    if (!slice.tenant.empty() && !core::isTenantName(slice.tenant))
    {
        return Refusal{broker::errors::invalidRun,
                       "A tenant's name must be 1 to " + std::to_string(core::maxTenantNameLength) +
                           " lowercase letters, digits and '_', a letter first."};
    }
    if (!core::areTenantCaps(slice.caps))
    {
        return Refusal{
            broker::errors::invalidRun,
            "A tenant's cpu_percent must be at most " + std::to_string(core::maxTenantCpuPercent) +
                " and its memory_mb 0 or between " + std::to_string(core::minTenantMemoryMb) +
                " and " + std::to_string(core::maxTenantMemoryMb) + "."};
    }
    if (slice.tenant.empty() && slice.caps != core::TenantCaps{})
    {
        return Refusal{broker::errors::invalidRun,
                       "Runs of no tenant take no caps: the caps of their slice are the "
                       "operator's."};
    }
    return std::nullopt;
}

std::optional<Refusal> checkRun(const core::SandboxRun& run, const core::SandboxPolicy& policy)
{
    if (auto problem = core::checkSandboxRun(run, policy))
    {
        return Refusal{broker::errors::invalidRun, std::move(*problem)};
    }
    if (auto refusal = checkSlice(run.slice))
    {
        return refusal;
    }
    if (auto problem = checkRequirements(run.environment, run.requirements))
    {
        return Refusal{broker::errors::invalidRun, std::move(*problem)};
    }
    return std::nullopt;
}

std::variant<AdmittedRun, Refusal> placeRun(core::SandboxRun run,
                                            const std::optional<core::Interpreter>& interpreter,
                                            const std::optional<WarmUnitFor>& warm)
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
    if (warm)
    {
        if (!run.requirements.empty() || warm->environment != run.environment)
        {
            return Refusal{broker::errors::invalidRun,
                           "The run's warm unit was started for another environment."};
        }
        // It runs in its tenant's slice, under that tenant's caps.
        if (warm->tenant != run.slice.tenant)
        {
            return Refusal{broker::errors::invalidRun,
                           "The run's warm unit was started for another tenant."};
        }
        return AdmittedRun{StartPath::warm, std::move(run)};
    }
    return AdmittedRun{interpreter ? StartPath::cold : StartPath::afterBuild, std::move(run)};
}

std::variant<core::SandboxRun, Refusal>
admitWarmUnit(const std::string& id, const std::string& environment, const core::TenantSlice& slice,
              const std::optional<core::Environment>& warmable, const core::Limits& defaults)
{
    if (auto refusal = checkSlice(slice))
    {
        return std::move(*refusal);
    }
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
    prepared.slice = slice;
    return prepared;
}

} // namespace pyrunner::systemd
