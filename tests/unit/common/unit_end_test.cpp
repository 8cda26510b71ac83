#include "common/unit_end.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>

namespace pyrunner::core
{
namespace
{

TEST(UnitEnd, RoundTrips)
{
    const UnitEnd end{"exit-code", "exited", "3", 1700000000123456};
    EXPECT_EQ(parseUnitEnd(formatUnitEnd(end)), end);
}

TEST(UnitEnd, SharesItsFileWithTheCgroupFigures)
{
    const auto end = parseUnitEnd("oom_kills 1\nservice_result oom-kill\nmemory_peak_bytes 9\n");
    EXPECT_EQ(end.serviceResult, "oom-kill");
    EXPECT_FALSE(end.exitCode);
}

TEST(UnitEnd, OnlySystemdsWordsAreKept)
{
    // The values come from systemd, but the reader trusts no more than it needs to.
    const auto end = parseUnitEnd("service_result a/b\nexit_code \nexit_status KILL\n");
    EXPECT_FALSE(end.serviceResult);
    EXPECT_FALSE(end.exitCode);
    EXPECT_EQ(end.exitStatus, "KILL");
    EXPECT_EQ(formatUnitEnd(UnitEnd{"two words", std::nullopt, std::nullopt, std::nullopt}), "");
}

TEST(UnitEnd, AnExitBecomesTheOutcomeOfTheLivePath)
{
    const auto outcome = outcomeOf(UnitEnd{"exit-code", "exited", "3", std::nullopt});
    ASSERT_TRUE(outcome);
    EXPECT_TRUE(outcome->started);
    EXPECT_EQ(outcome->result, "exit-code");
    EXPECT_EQ(outcome->execMainCode, CLD_EXITED);
    EXPECT_EQ(outcome->execMainStatus, 3);
}

TEST(UnitEnd, ASignalIsNamedWithoutItsPrefix)
{
    const auto killed = outcomeOf(UnitEnd{"signal", "killed", "KILL", std::nullopt});
    ASSERT_TRUE(killed);
    EXPECT_EQ(killed->execMainCode, CLD_KILLED);
    EXPECT_EQ(killed->execMainStatus, SIGKILL);
    const auto dumped = outcomeOf(UnitEnd{"core-dump", "dumped", "SEGV", std::nullopt});
    ASSERT_TRUE(dumped);
    EXPECT_EQ(dumped->execMainCode, CLD_DUMPED);
    EXPECT_EQ(dumped->execMainStatus, SIGSEGV);
}

TEST(UnitEnd, NoResultIsNoOutcome)
{
    EXPECT_FALSE(outcomeOf(UnitEnd{}));
}

} // namespace
} // namespace pyrunner::core
