#include "run_manager_fixture.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

using test::RunManagerTest;

TEST_F(RunManagerTest, ARunTakesAWarmUnitAndThePoolRefills)
{
    auto& m = manager(2, 2, 2);
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 2U);
    // Not ready yet: a run does not wait for it.
    const auto cold = submit();
    EXPECT_EQ(std::count(sandbox_.prepared.begin(), sandbox_.prepared.end(), cold), 0);
    exitWith(cold, 0);
    started(sandbox_.prepared[0]);
    const auto id = submit();
    // The run is the warm unit: the same id, handed to it by start().
    EXPECT_EQ(id, sandbox_.prepared[0]);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{cold, id}));
    EXPECT_EQ(sandbox_.runs.at(id).first.code, "print(1)");
    // The replacement waits for the run's end, so as not to take the CPUs from it.
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
    exitWith(id, 0);
    EXPECT_EQ(m.find(id)->run.status, RunStatus::Succeeded);
    EXPECT_EQ(sandbox_.prepared.size(), 3U);
}

TEST_F(RunManagerTest, ARunOfAnotherEnvironmentTakesNoWarmUnit)
{
    auto& m = manager(2, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    RunRequest request;
    request.environment = "datascience";
    const auto id = std::get<Submitted>(m.submit(request, {})).view.run.id;
    EXPECT_NE(id, sandbox_.prepared[0]);
    EXPECT_EQ(sandbox_.runs.at(id).first.environment, "datascience");
}

TEST_F(RunManagerTest, ARunWithRequirementsRunsInTheirEnvironmentAndTakesNoWarmUnit)
{
    auto& m = manager(2, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    RunRequest request;
    request.requirements = {"numpy"};
    const auto view = std::get<Submitted>(m.submit(request, {})).view;
    EXPECT_NE(view.run.id, sandbox_.prepared[0]);
    EXPECT_EQ(view.run.environment, "req-e09f656c130b9c08b2c5ab7187c89129");
    const auto& launched = sandbox_.runs.at(view.run.id).first;
    EXPECT_EQ(launched.environment, view.run.environment);
    EXPECT_EQ(launched.requirements, std::vector<std::string>{"numpy"});
}

TEST_F(RunManagerTest, TheDefaultEnvironmentIsThereBeforeThePrivilegedSideSaysWhich)
{
    const auto environments = manager(1, 1).environments();
    ASSERT_EQ(environments.size(), 1U);
    EXPECT_EQ(environments[0].name, "default");
}

TEST_F(RunManagerTest, AQueuedRunTakesNoWarmUnit)
{
    manager(1, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    submit();
    const auto queued = submit();
    EXPECT_EQ(std::count(sandbox_.prepared.begin(), sandbox_.prepared.end(), queued), 0);
}

TEST_F(RunManagerTest, NoWarmUnitStartsWhileRunsWait)
{
    manager(1, 2, 1);
    recover();
    started(sandbox_.prepared[0]);
    const auto warm = submit();
    ASSERT_EQ(warm, sandbox_.prepared[0]);
    const auto second = submit();
    const auto third = submit();
    exitWith(warm, 0);
    // `second` runs and `third` still waits: no replacement yet.
    EXPECT_EQ(sandbox_.started.back(), second);
    EXPECT_EQ(sandbox_.prepared.size(), 1U);
    exitWith(second, 0);
    // `third` has left the queue: the pool fills again.
    EXPECT_EQ(sandbox_.started.back(), third);
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
}

TEST_F(RunManagerTest, AWarmUnitThatEndsIsReplacedUntilTheyKeepFailing)
{
    auto& m = manager(1, 1, 1);
    recover();
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome failed;
        failed.error = "refused";
        exited(sandbox_.prepared.back(), failed);
    }
    // Three failures in a row: no fourth replacement.
    EXPECT_EQ(sandbox_.prepared.size(), 3U);
    EXPECT_EQ(sandbox_.released.size(), 3U);
    EXPECT_EQ(m.health().running, 0U);
}

TEST_F(RunManagerTest, AWarmUnitEndedWhileWaitingIsReplaced)
{
    auto& m = manager(1, 1, 1);
    recover();
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome ended;
        ended.started = true;
        ended.result = "signal";
        exited(sandbox_.prepared.back(), ended);
    }
    EXPECT_EQ(sandbox_.prepared.size(), 6U);
    EXPECT_EQ(m.health().running, 0U);
}

Environment listedEnvironment(const std::string& name, EnvironmentKind kind)
{
    Environment environment;
    environment.name = name;
    environment.kind = kind;
    return environment;
}

TEST_F(RunManagerTest, EachListedEnvironmentHasItsOwnPool)
{
    sandbox_.listed = {listedEnvironment("datascience", EnvironmentKind::Shipped),
                       listedEnvironment("default", EnvironmentKind::Shipped)};
    auto& m = manager(2, 2, 1, {{"datascience", 2}, {"mine", 1}});
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 3U);
    std::vector<std::string> science;
    for (const auto& id : sandbox_.prepared)
    {
        if (sandbox_.preparedFor.at(id) == "datascience")
        {
            science.push_back(id);
        }
        started(id);
    }
    ASSERT_EQ(science.size(), 2U);
    RunRequest request;
    request.environment = "datascience";
    const auto id = std::get<Submitted>(m.submit(request, {})).view.run.id;
    EXPECT_EQ(id, science[0]);
    EXPECT_EQ(sandbox_.runs.at(id).first.environment, "datascience");
    exitWith(id, 0);
    // Refilled with a unit of the same environment.
    ASSERT_EQ(sandbox_.prepared.size(), 4U);
    EXPECT_EQ(sandbox_.preparedFor.at(sandbox_.prepared.back()), "datascience");
}

TEST_F(RunManagerTest, AnEnvironmentIsFilledOnceTheSandboxListsIt)
{
    sandbox_.listed = {listedEnvironment("default", EnvironmentKind::Shipped)};
    manager(2, 2, 1, {{"mine", 1}});
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 1U);
    sandbox_.listed.push_back(listedEnvironment("mine", EnvironmentKind::Operator));
    environmentsChanged();
    ASSERT_EQ(sandbox_.prepared.size(), 2U);
    EXPECT_EQ(sandbox_.preparedFor.at(sandbox_.prepared.back()), "mine");
    // Already full: nothing more.
    environmentsChanged();
    EXPECT_EQ(sandbox_.prepared.size(), 2U);
}

TEST_F(RunManagerTest, ARequirementsEnvironmentNeverHasAPool)
{
    sandbox_.listed = {listedEnvironment("default", EnvironmentKind::Shipped),
                       listedEnvironment("req-x", EnvironmentKind::Requirements)};
    manager(2, 2, 0, {{"req-x", 1}});
    recover();
    EXPECT_TRUE(sandbox_.prepared.empty());
}

TEST_F(RunManagerTest, OneEnvironmentsFailingUnitsStopOnlyItsOwnPool)
{
    sandbox_.listed = {listedEnvironment("datascience", EnvironmentKind::Shipped),
                       listedEnvironment("default", EnvironmentKind::Shipped)};
    manager(1, 1, 1, {{"datascience", 1}});
    recover();
    const auto lastOf = [this](const std::string& environment) {
        for (auto it = sandbox_.prepared.rbegin(); it != sandbox_.prepared.rend(); ++it)
        {
            if (sandbox_.preparedFor.at(*it) == environment)
            {
                return *it;
            }
        }
        return std::string();
    };
    for (int i = 0; i < 5; ++i)
    {
        UnitOutcome failed;
        failed.error = "refused";
        exited(lastOf("datascience"), failed);
    }
    UnitOutcome ended;
    ended.started = true;
    exited(lastOf("default"), ended);
    const auto count = [this](const std::string& environment) {
        return std::count_if(sandbox_.prepared.begin(), sandbox_.prepared.end(),
                             [&](const std::string& id) {
            return sandbox_.preparedFor.at(id) == environment;
        });
    };
    EXPECT_EQ(count("datascience"), 3);
    EXPECT_EQ(count("default"), 2);
}

} // namespace
} // namespace pyrunner::core
