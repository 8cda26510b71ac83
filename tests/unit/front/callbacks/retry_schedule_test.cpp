#include "front/callbacks/retry_schedule.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

using std::chrono::seconds;

TEST(RetryDelay, DoublesFromOneSecondUpToFiveMinutes)
{
    const RetryPolicy policy;
    EXPECT_EQ(retryDelay(1, policy), seconds(1));
    EXPECT_EQ(retryDelay(2, policy), seconds(2));
    EXPECT_EQ(retryDelay(3, policy), seconds(4));
    EXPECT_EQ(retryDelay(9, policy), seconds(256));
    EXPECT_EQ(retryDelay(10, policy), seconds(300));
    EXPECT_EQ(retryDelay(23, policy), seconds(300));
}

TEST(RetryDelay, GivesUpAfterTheLastAttempt)
{
    const RetryPolicy policy;
    EXPECT_EQ(retryDelay(24, policy), std::nullopt);
    EXPECT_EQ(retryDelay(25, policy), std::nullopt);
    EXPECT_EQ(retryDelay(0, policy), std::nullopt);
    EXPECT_EQ(retryDelay(1, RetryPolicy{seconds(1), seconds(300), 1}), std::nullopt);
}

TEST(RetryDelay, ManyAttemptsNeverOverflow)
{
    const RetryPolicy policy{seconds(1), seconds(300), 1000000};
    EXPECT_EQ(retryDelay(999999, policy), seconds(300));
}

TEST(RetrySpan, IsEveryWaitAddedUp)
{
    // 1 + 2 + ... + 256 = 511 for the first nine waits, then fourteen of 300.
    EXPECT_EQ(retrySpan(RetryPolicy{}), seconds(511 + 14 * 300));
    EXPECT_EQ(retrySpan(RetryPolicy{seconds(1), seconds(300), 1}), seconds(0));
}

} // namespace
} // namespace pyrunner::core
