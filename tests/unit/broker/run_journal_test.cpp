#include "broker/run_journal.hpp"

#include <gtest/gtest.h>

#include <syslog.h>

namespace pyrunner::systemd
{
namespace
{

const std::string run = "0123456789abcdef0123456789abcdef";

std::string field(const JournalEntry& entry, std::string_view name)
{
    for (const auto& [key, value] : entry.fields)
    {
        if (key == name)
        {
            return value;
        }
    }
    return {};
}

core::UnitOutcome endedWith(std::string result)
{
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.result = std::move(result);
    return outcome;
}

TEST(RunEntry, NamesTheRunAndItsUnit)
{
    const auto entry = runEntry(LOG_INFO, run, "starting", "The broker starts run " + run + ".",
                                {{"CLIENT", ":1.42"}});
    EXPECT_EQ(entry.messageId, message_ids::brokerRun);
    EXPECT_EQ(field(entry, "RUN_ID"), run);
    EXPECT_EQ(field(entry, "UNIT"), "pyrunner-" + run + ".service");
    EXPECT_EQ(field(entry, "STATUS"), "starting");
    EXPECT_EQ(field(entry, "CLIENT"), ":1.42");
}

TEST(RunEntry, LeavesAMalformedIdOutOfItsFields)
{
    const auto entry = runEntry(LOG_ERR, "../x", "start_failed", "refused");
    EXPECT_EQ(field(entry, "RUN_ID"), "");
    EXPECT_EQ(field(entry, "UNIT"), "");
}

TEST(UnitEndEntry, SaysHowARunsUnitEnded)
{
    const auto entry = unitEndEntry(run, false, endedWith("timeout"));
    EXPECT_EQ(entry.priority, LOG_INFO);
    EXPECT_EQ(entry.messageId, message_ids::brokerRun);
    EXPECT_EQ(entry.message, "The unit of run " + run + " ended with result timeout.");
    EXPECT_EQ(field(entry, "STATUS"), "unit_ended");
    EXPECT_EQ(field(entry, "UNIT_RESULT"), "timeout");
    EXPECT_EQ(field(entry, "END_SEEN_BY"), "systemd");
}

TEST(UnitEndEntry, IsAnErrorWhenTheUnitCouldNotBeStarted)
{
    core::UnitOutcome outcome;
    outcome.error = "systemd refused the unit";
    const auto entry = unitEndEntry(run, false, outcome);
    EXPECT_EQ(entry.priority, LOG_ERR);
    EXPECT_EQ(entry.message, "The unit of run " + run + " ended: systemd refused the unit");
    EXPECT_EQ(field(entry, "ERROR"), "systemd refused the unit");
}

TEST(UnitEndEntry, CallsAnIdleWarmUnitAtTheEndOfItsLifetimeRecycledNotARunTimingOut)
{
    const auto entry = unitEndEntry(run, true, endedWith("timeout"));
    EXPECT_EQ(entry.priority, LOG_INFO);
    EXPECT_EQ(entry.messageId, message_ids::warmUnitRecycled);
    EXPECT_EQ(entry.message, "The idle warm unit pyrunner-" + run +
                                 ".service reached its lifetime and was recycled; no run was "
                                 "using it.");
    EXPECT_EQ(field(entry, "STATUS"), "warm_unit_recycled");
    EXPECT_EQ(field(entry, "RUN_ID"), run);
    EXPECT_EQ(field(entry, "UNIT_RESULT"), "timeout");
}

TEST(UnitEndEntry, ReportsAnIdleWarmUnitThatEndedOtherwiseAsAnyUnit)
{
    const auto entry = unitEndEntry(run, true, endedWith("signal"));
    EXPECT_EQ(entry.messageId, message_ids::brokerRun);
    EXPECT_EQ(field(entry, "STATUS"), "unit_ended");
}

TEST(UnitEndEntry, SaysWhenTheKernelToldTheEnd)
{
    auto outcome = endedWith("success");
    outcome.toldByKernel = true;
    EXPECT_EQ(field(unitEndEntry(run, false, outcome), "END_SEEN_BY"), "kernel");
}

} // namespace
} // namespace pyrunner::systemd
