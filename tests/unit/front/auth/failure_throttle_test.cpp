#include "front/auth/failure_throttle.hpp"

#include <gtest/gtest.h>

namespace pyrunner::auth
{
namespace
{

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const Clock::time_point start{std::chrono::hours(1000)};

TEST(FailureThrottle, LocksAClientOutAfterItsFailures)
{
    FailureThrottle throttle(10);
    for (int i = 0; i < 10; ++i)
    {
        EXPECT_FALSE(throttle.refusedFor("192.0.2.1", start)) << i;
        throttle.failed("192.0.2.1", start);
    }
    // One failure drips back every 6 s.
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start), 6s);
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start + 1500ms), 5s);
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start + 5999ms), 1s);
    EXPECT_FALSE(throttle.refusedFor("192.0.2.1", start + 6s));
    EXPECT_FALSE(throttle.refusedFor("192.0.2.2", start)) << "another client";
    throttle.failed("192.0.2.1", start + 6s);
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start + 6s), 6s);
}

TEST(FailureThrottle, RefillsAtItsRate)
{
    FailureThrottle throttle(3);
    for (int i = 0; i < 3; ++i)
    {
        throttle.failed("192.0.2.1", start);
    }
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start), 20s);
    // A minute on, the bucket is full: three failures again before the lockout.
    const auto later = start + 60s;
    for (int i = 0; i < 3; ++i)
    {
        EXPECT_FALSE(throttle.refusedFor("192.0.2.1", later)) << i;
        throttle.failed("192.0.2.1", later);
    }
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", later), 20s);
}

TEST(FailureThrottle, SpreadFailuresWithinTheRateAreNeverRefused)
{
    FailureThrottle throttle(10);
    for (int i = 0; i < 100; ++i)
    {
        const auto now = start + i * 6s;
        EXPECT_FALSE(throttle.refusedFor("192.0.2.1", now)) << i;
        throttle.failed("192.0.2.1", now);
    }
}

TEST(FailureThrottle, FailuresWhileRefusedDoNotLengthenTheWait)
{
    FailureThrottle throttle(1);
    for (int i = 0; i < 5; ++i)
    {
        throttle.failed("192.0.2.1", start);
    }
    EXPECT_EQ(throttle.refusedFor("192.0.2.1", start), 60s);
}

TEST(FailureThrottle, AnIpv6ClientIsItsSlash64)
{
    FailureThrottle throttle(2);
    throttle.failed("2001:db8:1:2::1", start);
    throttle.failed("2001:db8:1:2:ffff:ffff:ffff:ffff", start);
    EXPECT_TRUE(throttle.refusedFor("2001:db8:1:2:abcd::9", start));
    EXPECT_TRUE(throttle.refusedFor("[2001:db8:1:2::7]", start));
    EXPECT_FALSE(throttle.refusedFor("2001:db8:1:3::1", start));
    EXPECT_EQ(throttle.clients(), 1U);
}

TEST(FailureThrottle, ClientKeys)
{
    EXPECT_EQ(FailureThrottle::clientKey("192.0.2.1"), "192.0.2.1");
    EXPECT_EQ(FailureThrottle::clientKey("::ffff:192.0.2.1"), "192.0.2.1");
    EXPECT_EQ(FailureThrottle::clientKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    EXPECT_EQ(FailureThrottle::clientKey("[2001:DB8:1:2::5]"), "2001:db8:1:2::/64");
    EXPECT_EQ(FailureThrottle::clientKey("fe80::1%eth0"), "fe80::/64");
    EXPECT_EQ(FailureThrottle::clientKey("::1"), "::/64");
    EXPECT_EQ(FailureThrottle::clientKey("unix"), "unix");
}

TEST(FailureThrottle, RemembersABoundedNumberOfClients)
{
    FailureThrottle throttle(1, 4);
    for (int i = 0; i < 4; ++i)
    {
        throttle.failed("192.0.2." + std::to_string(i), start + i * 1s);
    }
    EXPECT_EQ(throttle.clients(), 4U);
    // Full, none refilled: the one whose last failure is the oldest goes.
    throttle.failed("192.0.2.9", start + 10s);
    EXPECT_EQ(throttle.clients(), 4U);
    EXPECT_FALSE(throttle.refusedFor("192.0.2.0", start + 10s));
    EXPECT_TRUE(throttle.refusedFor("192.0.2.1", start + 10s));
    EXPECT_TRUE(throttle.refusedFor("192.0.2.9", start + 10s));
    // Later, those refilled go first, however recent the others.
    throttle.failed("192.0.2.1", start + 61s);
    throttle.failed("192.0.2.10", start + 65s);
    EXPECT_EQ(throttle.clients(), 3U);
    EXPECT_TRUE(throttle.refusedFor("192.0.2.1", start + 65s));
    EXPECT_TRUE(throttle.refusedFor("192.0.2.9", start + 65s));
    EXPECT_TRUE(throttle.refusedFor("192.0.2.10", start + 65s));
    // Many clients never hold more than the bound.
    for (int i = 0; i < 1000; ++i)
    {
        throttle.failed("198.51.100." + std::to_string(i), start + 80s);
        EXPECT_LE(throttle.clients(), 4U);
    }
}

TEST(FailureThrottle, HoldsAtMost4096ClientsByDefault)
{
    FailureThrottle throttle(10);
    for (int i = 0; i < 5000; ++i)
    {
        throttle.failed("2001:db8:" + std::to_string(i) + "::1", start);
    }
    EXPECT_EQ(throttle.clients(), 4096U);
}

} // namespace
} // namespace pyrunner::auth
