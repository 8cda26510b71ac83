#include "common/serial_worker.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pyrunner::core
{
namespace
{

TEST(SerialWorker, RunsTasksOneAtATimeInTheOrderPosted)
{
    std::vector<int> order;
    std::thread::id ranOn;
    SerialWorker worker;
    for (int i = 0; i < 100; ++i)
    {
        worker.post([&order, &ranOn, i] {
            order.push_back(i);
            ranOn = std::this_thread::get_id();
        });
    }
    worker.waitIdle();
    ASSERT_EQ(order.size(), 100U);
    for (int i = 0; i < 100; ++i)
    {
        EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    }
    EXPECT_NE(ranOn, std::this_thread::get_id());
}

TEST(SerialWorker, WaitingForIdleCoversTasksPostedByTasks)
{
    bool second = false;
    SerialWorker worker;
    worker.post([&worker, &second] { worker.post([&second] { second = true; }); });
    worker.waitIdle();
    EXPECT_TRUE(second);
}

TEST(SerialWorker, RunsWhatWasPostedBeforeItIsDestroyed)
{
    int ran = 0;
    {
        SerialWorker worker;
        for (int i = 0; i < 10; ++i)
        {
            worker.post([&ran] { ++ran; });
        }
    }
    EXPECT_EQ(ran, 10);
}

} // namespace
} // namespace pyrunner::core
