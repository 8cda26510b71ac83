#include "broker/run_registry.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

const std::string run = "0123456789abcdef0123456789abcdef";
const std::string other = "fedcba9876543210fedcba9876543210";
const std::string front = ":1.42";

TEST(RunRegistry, FollowsARunFromItsStartUntilItsUnitIsGone)
{
    RunRegistry registry;
    registry.starting(run);
    EXPECT_TRUE(registry.isActive(run));
    registry.exited(run);
    EXPECT_FALSE(registry.isActive(run));
    EXPECT_TRUE(registry.isTracked(run));
    EXPECT_FALSE(registry.unitGone(run));
    EXPECT_FALSE(registry.isTracked(run));
}

TEST(RunRegistry, RefusesToReleaseARunWhoseUnitStillRuns)
{
    RunRegistry registry;
    registry.starting(run);
    EXPECT_EQ(registry.release(run), RunRegistry::Release::refused);
}

TEST(RunRegistry, ReleasesTheFilesOfAStoppingUnitWithTheUnit)
{
    RunRegistry registry;
    registry.starting(run);
    registry.exited(run);
    EXPECT_EQ(registry.release(run), RunRegistry::Release::withUnit);
    EXPECT_TRUE(registry.unitGone(run));
}

TEST(RunRegistry, ReleasesTheFilesOfARunWhoseUnitIsGoneAtOnce)
{
    RunRegistry registry;
    registry.starting(run);
    registry.exited(run);
    registry.unitGone(run);
    EXPECT_EQ(registry.release(run), RunRegistry::Release::now);
    EXPECT_EQ(registry.release(other), RunRegistry::Release::now);
}

TEST(RunRegistry, KeepsTheFilesOfAnUnreleasedRunWhenItsUnitIsGone)
{
    RunRegistry registry;
    registry.starting(run);
    registry.exited(run);
    EXPECT_FALSE(registry.unitGone(run));
}

TEST(RunRegistry, EndsARunKilledWhileItWaitsForItsEnvironment)
{
    RunRegistry registry;
    registry.waitForEnvironment(run);
    EXPECT_TRUE(registry.isActive(run));
    EXPECT_TRUE(registry.killWhileWaiting(run));
    EXPECT_FALSE(registry.isActive(run));
    // Its build, done later, starts nothing: the run was reported ended.
    EXPECT_FALSE(registry.environmentReady(run));
}

TEST(RunRegistry, StartsAWaitingRunOnceItsEnvironmentIsReady)
{
    RunRegistry registry;
    registry.waitForEnvironment(run);
    EXPECT_TRUE(registry.environmentReady(run));
    EXPECT_TRUE(registry.isActive(run));
    // A kill now goes to its unit.
    EXPECT_FALSE(registry.killWhileWaiting(run));
}

TEST(RunRegistry, ForgetsARunWhoseEnvironmentCouldNotBeBuilt)
{
    RunRegistry registry;
    registry.waitForEnvironment(run);
    registry.environmentReady(run);
    registry.endedWithoutUnit(run);
    EXPECT_FALSE(registry.isTracked(run));
}

TEST(RunRegistry, SaysAWarmUnitNeverGivenARunEndedIdle)
{
    RunRegistry registry;
    registry.prepared(run, front);
    EXPECT_TRUE(registry.isActive(run));
    EXPECT_TRUE(registry.exited(run).idleWarm);
}

TEST(RunRegistry, SaysAWarmUnitGivenItsRunEndedWithIt)
{
    RunRegistry registry;
    registry.prepared(run, front);
    registry.handedOver(run);
    EXPECT_FALSE(registry.exited(run).idleWarm);
}

TEST(RunRegistry, SaysAColdOrFollowedRunEndedWithIt)
{
    RunRegistry registry;
    registry.starting(run);
    registry.followed(other);
    EXPECT_FALSE(registry.exited(run).idleWarm);
    EXPECT_FALSE(registry.exited(other).idleWarm);
}

TEST(RunRegistry, GivesTheIdleWarmUnitsOfAFrontThatLeftToStop)
{
    RunRegistry registry;
    registry.prepared(run, front);
    registry.prepared(other, ":1.43");
    EXPECT_EQ(registry.ownerGone(front), std::vector<std::string>{run});
    EXPECT_TRUE(registry.ownerGone(front).empty());
    // Stopped for it, not idle any more; its files go with the unit, unreleased.
    EXPECT_FALSE(registry.exited(run).idleWarm);
    EXPECT_TRUE(registry.unitGone(run));
}

TEST(RunRegistry, LeavesAWarmUnitGivenItsRunWhenItsFrontLeaves)
{
    RunRegistry registry;
    registry.prepared(run, front);
    registry.handedOver(run);
    EXPECT_TRUE(registry.ownerGone(front).empty());
    registry.exited(run);
    EXPECT_FALSE(registry.unitGone(run));
}

} // namespace
} // namespace pyrunner::systemd
