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
    const auto admitted = admittedOf(placeRun(ordinaryRun(), venv(), "default"));
    EXPECT_EQ(admitted.path, StartPath::warm);
    EXPECT_EQ(admitted.run.interpreter, venv());
}

TEST(PlaceRun, RefusesAWarmUnitOfAnotherEnvironment)
{
    EXPECT_EQ(refusalOf(placeRun(ordinaryRun(), venv(), "datascience")),
              (Refusal{broker::errors::invalidRun,
                       "The run's warm unit was started for another environment."}));
}

TEST(PlaceRun, RefusesAWarmUnitForARunWithRequirements)
{
    const auto run = runWithRequirements({"numpy"});
    EXPECT_EQ(refusalOf(placeRun(run, venv(), run.environment)).error, broker::errors::invalidRun);
}

TEST(AdmitWarmUnit, StartsTheEnvironmentsInterpreterWithItsImportsAndTheDefaultLimits)
{
    core::Environment science;
    science.name = "datascience";
    science.interpreter = venv();
    science.checkImports = {"numpy", "pandas"};
    core::Limits defaults;
    defaults.memoryMb = 300;
    const auto id = core::newRunId();
    const auto admitted = admitWarmUnit(id, "datascience", science, defaults);
    ASSERT_TRUE(std::holds_alternative<core::SandboxRun>(admitted));
    const auto& prepared = std::get<core::SandboxRun>(admitted);
    EXPECT_EQ(prepared.id, id);
    EXPECT_EQ(prepared.environment, "datascience");
    EXPECT_EQ(prepared.interpreter, venv());
    EXPECT_EQ(prepared.preImports, science.checkImports);
    EXPECT_EQ(prepared.limits, defaults);
}

TEST(AdmitWarmUnit, RefusesAnEnvironmentWarmUnitsMayNotRun)
{
    const auto admitted = admitWarmUnit(core::newRunId(), "req-0123", std::nullopt, {});
    ASSERT_TRUE(std::holds_alternative<Refusal>(admitted));
    EXPECT_EQ(std::get<Refusal>(admitted),
              (Refusal{broker::errors::noSuchEnvironment,
                       "There is no environment \"req-0123\" that warm units may run."}));
}

TEST(AdmitWarmUnit, KeepsAMalformedEnvironmentNameOutOfItsSentence)
{
    const auto admitted = admitWarmUnit(core::newRunId(), "../x\n", std::nullopt, {});
    ASSERT_TRUE(std::holds_alternative<Refusal>(admitted));
    EXPECT_EQ(std::get<Refusal>(admitted).message,
              "There is no environment \"with a malformed name\" that warm units may run.");
}

} // namespace
} // namespace pyrunner::systemd
