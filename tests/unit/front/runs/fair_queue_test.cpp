#include "front/runs/fair_queue.hpp"

#include <gtest/gtest.h>

#include <map>

namespace pyrunner::core
{
namespace
{

TimePoint at(int second)
{
    return TimePoint{} + std::chrono::seconds(second);
}

struct Slots
{
    std::map<std::string, std::size_t> running;
    std::map<std::string, std::size_t> caps;

    std::optional<std::string> next(FairQueue& queue)
    {
        auto id = queue.pop([this](const std::string& t) { return running[t]; },
                            [this](const std::string& t) {
            return !caps.contains(t) || running[t] < caps[t];
        });
        return id;
    }
};

TEST(FairQueue, OneTenantIsServedOldestFirst)
{
    FairQueue queue;
    queue.push("a", "a2", at(2));
    queue.push("a", "a1", at(1));
    queue.push("a", "a3", at(3));
    Slots slots;
    EXPECT_EQ(slots.next(queue), "a1");
    EXPECT_EQ(slots.next(queue), "a2");
    EXPECT_EQ(slots.next(queue), "a3");
    EXPECT_EQ(slots.next(queue), std::nullopt);
    EXPECT_TRUE(queue.empty());
}

TEST(FairQueue, ABurstDelaysAnotherTenantByAtMostOneSlot)
{
    FairQueue queue;
    for (int i = 0; i < 200; ++i)
    {
        queue.push("a", "a" + std::to_string(i), at(i));
    }
    Slots slots;
    // A holds every slot, and one of its runs has just been served.
    slots.running["a"] = 2;
    EXPECT_EQ(slots.next(queue), "a0");
    queue.push("b", "b0", at(1000));
    // The next slot to free is B's: it has fewer runs running.
    slots.running["a"] = 1;
    EXPECT_EQ(slots.next(queue), "b0");
    EXPECT_EQ(queue.size(), 199U);
}

TEST(FairQueue, EqualTenantsTakeTurns)
{
    FairQueue queue;
    for (int i = 0; i < 3; ++i)
    {
        queue.push("a", "a" + std::to_string(i), at(i));
        queue.push("b", "b" + std::to_string(i), at(10 + i));
    }
    Slots slots;
    std::vector<std::string> order;
    while (auto id = slots.next(queue))
    {
        order.push_back(*id);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST(FairQueue, ATenantAtItsCapIsSkipped)
{
    FairQueue queue;
    queue.push("a", "a0", at(0));
    queue.push("b", "b0", at(1));
    Slots slots;
    slots.running["a"] = 1;
    slots.caps["a"] = 1;
    EXPECT_EQ(slots.next(queue), "b0");
    EXPECT_EQ(slots.next(queue), std::nullopt);
    EXPECT_EQ(queue.sizeOf("a"), 1U);
    slots.running["a"] = 0;
    EXPECT_EQ(slots.next(queue), "a0");
}

TEST(FairQueue, RemovedRunsLeaveTheirLine)
{
    FairQueue queue;
    queue.push("a", "a0", at(0));
    queue.push("a", "a1", at(1));
    EXPECT_TRUE(queue.remove("a0"));
    EXPECT_FALSE(queue.remove("a0"));
    EXPECT_EQ(queue.sizes(), (std::map<std::string, std::size_t>{{"a", 1}}));
    EXPECT_TRUE(queue.remove("a1"));
    EXPECT_TRUE(queue.sizes().empty());
    EXPECT_EQ(queue.sizeOf("a"), 0U);
}

} // namespace
} // namespace pyrunner::core
