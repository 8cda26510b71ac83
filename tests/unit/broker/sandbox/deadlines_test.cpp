#include "broker/sandbox/deadlines.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace pyrunner::systemd
{
namespace
{

using namespace std::chrono_literals;

TEST(Deadlines, CallsBackOnceItsTimeHasCome)
{
    Deadlines deadlines;
    std::promise<Deadlines::Clock::time_point> fired;
    const auto when = Deadlines::Clock::now() + 50ms;
    deadlines.arm("run", when, [&fired] { fired.set_value(Deadlines::Clock::now()); });
    auto future = fired.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_GE(future.get(), when);
}

TEST(Deadlines, ACancelledOneNeverFiresAndTheOthersStill)
{
    Deadlines deadlines;
    std::promise<void> later;
    std::atomic<bool> cancelledFired{false};
    deadlines.arm("cancelled", Deadlines::Clock::now() + 20ms,
                  [&cancelledFired] { cancelledFired = true; });
    deadlines.arm("kept", Deadlines::Clock::now() + 400ms, [&later] { later.set_value(); });
    deadlines.cancel("cancelled");
    ASSERT_EQ(later.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(cancelledFired);
}

} // namespace
} // namespace pyrunner::systemd
