#include "broker/environments/serial_worker.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pyrunner::systemd
{
namespace
{

TEST(SerialWorker, RunsEveryTaskPostedInOrderOnItsOwnThreadBeforeItIsDestroyed)
{
    std::vector<int> order;
    std::vector<std::thread::id> threads;
    {
        SerialWorker worker;
        for (int i = 0; i < 100; ++i)
        {
            worker.post([&order, &threads, i] {
                order.push_back(i);
                threads.push_back(std::this_thread::get_id());
            });
        }
    }
    ASSERT_EQ(order.size(), 100U);
    for (std::size_t i = 0; i < order.size(); ++i)
    {
        EXPECT_EQ(order[i], static_cast<int>(i));
        EXPECT_EQ(threads[i], threads[0]);
    }
    EXPECT_NE(threads[0], std::this_thread::get_id());
}

TEST(SerialWorker, RunsWhatATaskPostsToo)
{
    bool second = false;
    {
        SerialWorker worker;
        worker.post([&worker, &second] { worker.post([&second] { second = true; }); });
    }
    EXPECT_TRUE(second);
}

} // namespace
} // namespace pyrunner::systemd
