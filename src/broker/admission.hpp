#pragma once

#include "broker/refusal.hpp"
#include "common/environment.hpp"
#include "common/sandbox.hpp"
#include "common/sandbox_policy.hpp"

#include <optional>
#include <string>
#include <variant>

// Whether the broker takes a run the front sends, and how it starts: the request, the
// operator's policy and the broker's environments in, a start or a refusal out. Pure, so
// that each rule is tested without a bus.
namespace pyrunner::systemd
{

enum class StartPath
{
    // Handed to the warm unit PrepareRun started for the run's id.
    warm,
    // A unit of its own, now.
    cold,
    // A unit of its own once its requirements' environment is built.
    afterBuild,
};

struct AdmittedRun
{
    StartPath path = StartPath::cold;
    // Its interpreter set, but for afterBuild, where the build gives it.
    core::SandboxRun run;
};

// InvalidRun for an id that is not one newRunId could give.
std::optional<Refusal> checkRunId(const std::string& id);

// InvalidRun for a tenant that could not name a slice, or caps out of their bounds. The front
// decides both; the broker still never lets a name it did not check into a unit's name. The
// empty tenant's runs take no caps: theirs is the runs' own slice, whose caps are the
// operator's.
std::optional<Refusal> checkSlice(const core::TenantSlice& slice);

// StartRun's fields against the operator's policy, its slice (checkSlice), and the
// requirements: they must come normalised, in the environment named after them, so that a run
// never gets an environment built for another list.
std::optional<Refusal> checkRun(const core::SandboxRun& run, const core::SandboxPolicy& policy);

// Whom the warm unit prepared for a run's id was started for.
struct WarmUnitFor
{
    std::string environment;
    std::string tenant;
};

// Where a run that passed checkRun starts. `interpreter`: its environment's, if the broker has
// that environment now; `warm`: the warm unit prepared for the run's id, if there is one.
std::variant<AdmittedRun, Refusal> placeRun(core::SandboxRun run,
                                            const std::optional<core::Interpreter>& interpreter,
                                            const std::optional<WarmUnitFor>& warm);

// PrepareRun of a well-formed id: the warm unit to start in `slice`'s slice (checkSlice), with
// the operator's default limits (its ceiling is set apart), as a cold StartRun of `environment`
// would find it. `warmable`: that environment, if warm units may run it.
std::variant<core::SandboxRun, Refusal>
admitWarmUnit(const std::string& id, const std::string& environment, const core::TenantSlice& slice,
              const std::optional<core::Environment>& warmable, const core::Limits& defaults);

} // namespace pyrunner::systemd
