#include "broker/admission.hpp"
#include "common/environment_requirements.hpp"
#include "common/run_id.hpp"
#include "protocol/broker_errors.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

core::SandboxRun ordinaryRun()
{
    core::SandboxRun run;
    run.id = core::newRunId();
    run.code = "print(1)";
    return run;
}

core::SandboxRun runWithRequirements(std::vector<std::string> requirements)
{
    auto run = ordinaryRun();
    run.requirements = std::move(requirements);
    run.environment = core::requirementsEnvironmentName(
        std::get<core::NormalisedRequirements>(core::normaliseRequirements(run.requirements)));
    return run;
}

core::Interpreter venv()
{
    core::Interpreter interpreter;
    interpreter.python = "/var/lib/pyrunner-environments/tools/bin/python3";
    interpreter.directory = "tools";
    return interpreter;
}

Refusal refusalOf(const std::variant<AdmittedRun, Refusal>& placed)
{
    EXPECT_TRUE(std::holds_alternative<Refusal>(placed));
    return std::holds_alternative<Refusal>(placed) ? std::get<Refusal>(placed) : Refusal{};
}

AdmittedRun admittedOf(std::variant<AdmittedRun, Refusal> placed)
{
    EXPECT_TRUE(std::holds_alternative<AdmittedRun>(placed)) << std::get<Refusal>(placed).message;
    return std::holds_alternative<AdmittedRun>(placed) ? std::get<AdmittedRun>(std::move(placed))
                                                       : AdmittedRun{};
}

TEST(CheckRunId, AcceptsAnIdNewRunIdGives)
{
    EXPECT_EQ(checkRunId(core::newRunId()), std::nullopt);
}

TEST(CheckRunId, RefusesAnIdThatCouldNameAPathAsAnInvalidRun)
{
    for (const char* id : {"", "../../etc/cron.d", "0123456789ABCDEF0123456789ABCDEF"})
    {
        EXPECT_EQ(checkRunId(id), (Refusal{broker::errors::invalidRun,
                                           "The run id must be 32 lowercase hex digits."}))
            << id;
    }
}

TEST(CheckRun, AcceptsAnOrdinaryRun)
{
    EXPECT_EQ(checkRun(ordinaryRun(), core::SandboxPolicy{}), std::nullopt);
}

TEST(CheckRun, RefusesALimitAboveTheOperatorsMaximumWithItsSentence)
{
    auto run = ordinaryRun();
    run.limits.memoryMb = 4096;
    EXPECT_EQ(
        checkRun(run, core::SandboxPolicy{}),
        (Refusal{broker::errors::invalidRun, "limits.memory_mb must be between 1 and 2048."}));
}

TEST(CheckRun, RefusesAMalformedIdBeforeAnythingElse)
{
    auto run = ordinaryRun();
    run.id = "x";
    run.limits.memoryMb = 4096;
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{})->message,
              "The run id must be 32 lowercase hex digits.");
}

TEST(CheckRun, AcceptsNormalisedRequirementsInTheEnvironmentNamedAfterThem)
{
    EXPECT_EQ(checkRun(runWithRequirements({"numpy", "pandas>=1.5"}), core::SandboxPolicy{}),
              std::nullopt);
}

TEST(CheckRun, RefusesRequirementsThatAreNotNormalised)
{
    auto run = runWithRequirements({"numpy"});
    run.requirements = {"NumPy"};
    const auto refusal = checkRun(run, core::SandboxPolicy{});
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->error, broker::errors::invalidRun);
    EXPECT_EQ(refusal->message,
              "The requirements must come normalised, in the environment named after them.");
}

TEST(CheckRun, RefusesRequirementsInAnEnvironmentNamedAfterOthers)
{
    auto run = runWithRequirements({"numpy"});
    run.environment = runWithRequirements({"pandas"}).environment;
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{})->error, broker::errors::invalidRun);
}

TEST(CheckRun, RefusesRequirementsThatAreNoPackageNames)
{
    auto run = ordinaryRun();
    run.requirements = {"-r /etc/shadow"};
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{})->error, broker::errors::invalidRun);
}

TEST(CheckSlice, AcceptsNoTenantWithoutCapsAndATenantWithOrWithoutCaps)
{
    EXPECT_EQ(checkSlice({}), std::nullopt);
    EXPECT_EQ(checkSlice({"alice", {}}), std::nullopt);
    EXPECT_EQ(checkSlice({"team_2", {core::maxTenantCpuPercent, core::maxTenantMemoryMb}}),
              std::nullopt);
    EXPECT_EQ(checkSlice({"b", {1, core::minTenantMemoryMb}}), std::nullopt);
}

TEST(CheckSlice, RefusesATenantNameThatCouldPlaceItsSliceElsewhere)
{
    // A dash would put the slice beneath another tenant's; a dot or slash is no unit name.
    for (const char* tenant : {"a-b", "Alice", "1abc", "_a", "a.b", "../a", "a b", "a\n",
                               "abcdefghijklmnopqrstuvwxyz0123456"})
    {
        const auto refusal = checkSlice({tenant, {}});
        ASSERT_TRUE(refusal) << tenant;
        EXPECT_EQ(*refusal, (Refusal{broker::errors::invalidRun,
                                     "A tenant's name must be 1 to 32 lowercase letters, digits "
                                     "and '_', a letter first."}))
            << tenant;
    }
}

TEST(CheckSlice, RefusesCapsOutOfTheirBounds)
{
    const std::string sentence =
        "A tenant's cpu_percent must be at most 102400 and its memory_mb 0 "
        "or between 16 and 16777216.";
    for (const core::TenantCaps caps :
         {core::TenantCaps{core::maxTenantCpuPercent + 1, 0}, core::TenantCaps{0, 15},
          core::TenantCaps{0, core::maxTenantMemoryMb + 1}})
    {
        EXPECT_EQ(checkSlice({"alice", caps}), (Refusal{broker::errors::invalidRun, sentence}));
    }
}

TEST(CheckSlice, RefusesCapsForRunsOfNoTenant)
{
    // Their slice is the runs' own, whose caps the operator sets.
    for (const core::TenantCaps caps : {core::TenantCaps{50, 0}, core::TenantCaps{0, 256}})
    {
        const auto refusal = checkSlice({"", caps});
        ASSERT_TRUE(refusal);
        EXPECT_EQ(refusal->error, broker::errors::invalidRun);
    }
}

TEST(CheckRun, RefusesARunOfAMalformedTenant)
{
    auto run = ordinaryRun();
    run.slice.tenant = "a-b";
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{})->error, broker::errors::invalidRun);
    run.slice = {"alice", {0, 1}};
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{})->error, broker::errors::invalidRun);
    run.slice = {"alice", {0, 64}};
    EXPECT_EQ(checkRun(run, core::SandboxPolicy{}), std::nullopt);
}

TEST(PlaceRun, StartsARunOfAKnownEnvironmentColdWithItsInterpreter)
{
    const auto admitted = admittedOf(placeRun(ordinaryRun(), venv(), std::nullopt));
    EXPECT_EQ(admitted.path, StartPath::cold);
    EXPECT_EQ(admitted.run.interpreter, venv());
}

TEST(PlaceRun, RefusesAnEnvironmentTheBrokerDoesNotHave)
{
    auto run = ordinaryRun();
    run.environment = "nosuch";
    EXPECT_EQ(refusalOf(placeRun(run, std::nullopt, std::nullopt)),
              (Refusal{broker::errors::noSuchEnvironment, "There is no environment \"nosuch\"."}));
}

TEST(PlaceRun, HasARunWithRequirementsWaitForItsEnvironmentsBuild)
{
    const auto admitted =
        admittedOf(placeRun(runWithRequirements({"numpy"}), std::nullopt, std::nullopt));
    EXPECT_EQ(admitted.path, StartPath::afterBuild);
}

TEST(PlaceRun, StartsARunWithRequirementsColdOnceItsEnvironmentIsBuilt)
{
    const auto admitted =
        admittedOf(placeRun(runWithRequirements({"numpy"}), venv(), std::nullopt));
    EXPECT_EQ(admitted.path, StartPath::cold);
    EXPECT_EQ(admitted.run.interpreter, venv());
}

TEST(PlaceRun, HandsARunToTheWarmUnitPreparedForItsIdAndEnvironment)
{
    const auto admitted = admittedOf(placeRun(ordinaryRun(), venv(), WarmUnitFor{"default", ""}));
    EXPECT_EQ(admitted.path, StartPath::warm);
    EXPECT_EQ(admitted.run.interpreter, venv());
}

TEST(PlaceRun, RefusesAWarmUnitOfAnotherEnvironment)
{
    EXPECT_EQ(refusalOf(placeRun(ordinaryRun(), venv(), WarmUnitFor{"datascience", ""})),
              (Refusal{broker::errors::invalidRun,
                       "The run's warm unit was started for another environment."}));
}

TEST(PlaceRun, HandsARunToTheWarmUnitPreparedForItsTenant)
{
    auto run = ordinaryRun();
    run.slice = {"alice", {100, 0}};
    EXPECT_EQ(admittedOf(placeRun(run, venv(), WarmUnitFor{"default", "alice"})).path,
              StartPath::warm);
}

TEST(PlaceRun, RefusesAWarmUnitOfAnotherTenant)
{
    auto run = ordinaryRun();
    run.slice.tenant = "alice";
    const Refusal otherTenant{broker::errors::invalidRun,
                              "The run's warm unit was started for another tenant."};
    EXPECT_EQ(refusalOf(placeRun(run, venv(), WarmUnitFor{"default", "bob"})), otherTenant);
    EXPECT_EQ(refusalOf(placeRun(run, venv(), WarmUnitFor{"default", ""})), otherTenant);
    EXPECT_EQ(refusalOf(placeRun(ordinaryRun(), venv(), WarmUnitFor{"default", "alice"})),
              otherTenant);
}

TEST(PlaceRun, RefusesAWarmUnitForARunWithRequirements)
{
    const auto run = runWithRequirements({"numpy"});
    EXPECT_EQ(refusalOf(placeRun(run, venv(), WarmUnitFor{run.environment, ""})).error,
              broker::errors::invalidRun);
}

TEST(AdmitWarmUnit, StartsTheEnvironmentsInterpreterWithItsImportsAndTheDefaultLimits)
{
    core::Environment science;
    science.name = "datascience";
    science.interpreter = venv();
    science.checkImports = {"numpy", "pandas"};
    core::Limits defaults;
    defaults.memoryMb = 300;
    const core::TenantSlice alice{"alice", {50, 512}};
    const auto id = core::newRunId();
    const auto admitted = admitWarmUnit(id, "datascience", alice, science, defaults);
    ASSERT_TRUE(std::holds_alternative<core::SandboxRun>(admitted));
    const auto& prepared = std::get<core::SandboxRun>(admitted);
    EXPECT_EQ(prepared.id, id);
    EXPECT_EQ(prepared.environment, "datascience");
    EXPECT_EQ(prepared.interpreter, venv());
    EXPECT_EQ(prepared.preImports, science.checkImports);
    EXPECT_EQ(prepared.limits, defaults);
    EXPECT_EQ(prepared.slice, alice);
}

TEST(AdmitWarmUnit, RefusesATenantThatCouldNotNameASliceBeforeLookingAtTheEnvironment)
{
    const auto admitted = admitWarmUnit(core::newRunId(), "default", {"a-b", {}}, std::nullopt, {});
    ASSERT_TRUE(std::holds_alternative<Refusal>(admitted));
    EXPECT_EQ(std::get<Refusal>(admitted).error, broker::errors::invalidRun);
    EXPECT_EQ(std::get<Refusal>(admitted).message,
              "A tenant's name must be 1 to 32 lowercase letters, digits and '_', a letter first.");
}

TEST(AdmitWarmUnit, RefusesAnEnvironmentWarmUnitsMayNotRun)
{
    const auto admitted = admitWarmUnit(core::newRunId(), "req-0123", {}, std::nullopt, {});
    ASSERT_TRUE(std::holds_alternative<Refusal>(admitted));
    EXPECT_EQ(std::get<Refusal>(admitted),
              (Refusal{broker::errors::noSuchEnvironment,
                       "There is no environment \"req-0123\" that warm units may run."}));
}

TEST(AdmitWarmUnit, KeepsAMalformedEnvironmentNameOutOfItsSentence)
{
    const auto admitted = admitWarmUnit(core::newRunId(), "../x\n", {}, std::nullopt, {});
    ASSERT_TRUE(std::holds_alternative<Refusal>(admitted));
    EXPECT_EQ(std::get<Refusal>(admitted).message,
              "There is no environment \"with a malformed name\" that warm units may run.");
}

} // namespace
} // namespace pyrunner::systemd
