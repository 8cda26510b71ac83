#include "protocol/broker_api.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd::broker
{
namespace
{

TEST(BrokerWire, LimitsRoundTrip)
{
    core::Limits limits;
    limits.wallTimeS = 1;
    limits.cpuTimeS = 2;
    limits.memoryMb = 3;
    limits.cpuPercent = 4;
    limits.tasks = 5;
    limits.outputBytes = 6;
    limits.diskMb = 7;
    EXPECT_EQ(fromWire(toWire(limits)), limits);
}

TEST(BrokerWire, OutcomeRoundTripsWithKnownFigures)
{
    core::UnitOutcome outcome;
    outcome.started = true;
    outcome.result = "signal";
    outcome.execMainCode = 2;
    outcome.execMainStatus = 9;
    outcome.startMonotonicUsec = 10;
    outcome.exitMonotonicUsec = 20;
    outcome.cpuUsageNsec = 0;
    const auto back = fromWire(toWire(outcome));
    EXPECT_TRUE(back.started);
    EXPECT_EQ(back.result, "signal");
    EXPECT_EQ(back.execMainCode, 2);
    EXPECT_EQ(back.execMainStatus, 9);
    EXPECT_EQ(back.startMonotonicUsec, 10U);
    EXPECT_EQ(back.exitMonotonicUsec, 20U);
    EXPECT_EQ(back.cpuUsageNsec, 0U);
}

TEST(BrokerWire, UnknownFiguresStayUnknown)
{
    core::UnitOutcome outcome;
    outcome.error = "refused";
    const auto back = fromWire(toWire(outcome));
    EXPECT_FALSE(back.started);
    EXPECT_EQ(back.error, "refused");
    EXPECT_FALSE(back.startMonotonicUsec);
    EXPECT_FALSE(back.exitMonotonicUsec);
    EXPECT_FALSE(back.cpuUsageNsec);
}

TEST(BrokerWire, SliceRoundTrips)
{
    const core::TenantSlice slice{"alice", {250, 4096}};
    EXPECT_EQ(fromWire(toWire(slice)), slice);
    EXPECT_EQ(fromWire(toWire(core::TenantSlice{})), core::TenantSlice{});
}

} // namespace
} // namespace pyrunner::systemd::broker
