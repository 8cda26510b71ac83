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
    const auto entry = unitEndEntry(run, endedWith("timeout"));
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
    const auto entry = unitEndEntry(run, outcome);
    EXPECT_EQ(entry.priority, LOG_ERR);
    EXPECT_EQ(entry.message, "The unit of run " + run + " ended: systemd refused the unit");
    EXPECT_EQ(field(entry, "ERROR"), "systemd refused the unit");
}

TEST(UnitEndEntry, SaysWhenTheKernelToldTheEnd)
{
    auto outcome = endedWith("success");
    outcome.toldByKernel = true;
    EXPECT_EQ(field(unitEndEntry(run, outcome), "END_SEEN_BY"), "kernel");
}

} // namespace
} // namespace pyrunner::systemd
