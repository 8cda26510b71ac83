#include "systemd/bus_thread.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{

BusThread::BusThread(sdbus::IConnection& connection, std::function<void()> onLost)
    : connection_(connection), onLost_(std::move(onLost)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!wake_)
    {
        throw std::runtime_error("cannot create an eventfd for the bus thread");
    }
}

BusThread::~BusThread()
{
    stop();
}

void BusThread::start()
{
    alive_ = true;
    thread_ = std::thread([this] { loop(); });
}

void BusThread::stop()
{
    if (stopping_.exchange(true))
    {
        wait();
        return;
    }
    post([] {});
    wait();
}

void BusThread::wait()
{
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    {
        thread_.join();
    }
}

void BusThread::post(std::function<void()> task)
{
    {
        const std::lock_guard lock(tasksMutex_);
        if (!lost_)
        {
            tasks_.push_back(std::move(task));
            const std::uint64_t one = 1;
            // The counter only has to become non-zero; a full counter is as good as a write.
            [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
            return;
        }
    }
    const std::lock_guard orphan(orphanMutex_);
    task();
}

void BusThread::runPosted()
{
    std::uint64_t count = 0;
    [[maybe_unused]] const auto drained = ::read(wake_.get(), &count, sizeof count);
    std::deque<std::function<void()>> tasks;
    {
        const std::lock_guard lock(tasksMutex_);
        tasks.swap(tasks_);
    }
    for (auto& task : tasks)
    {
        task();
    }
}

void BusThread::loop()
{
    try
    {
        while (!stopping_)
        {
            while (connection_.processPendingRequest())
            {
            }
            const auto poll = connection_.getEventLoopPollData();
            std::array<pollfd, 2> fds{{{poll.fd, poll.events, 0}, {wake_.get(), POLLIN, 0}}};
            const auto relative = poll.getRelativeTimeout();
            const int timeoutMs =
                relative ? static_cast<int>(
                               std::chrono::ceil<std::chrono::milliseconds>(*relative).count())
                         : -1;
            if (::poll(fds.data(), fds.size(), timeoutMs) < 0 && errno != EINTR)
            {
                break;
            }
            if ((fds[0].revents & (POLLHUP | POLLERR)) != 0)
            {
                break;
            }
            runPosted();
        }
    }
    catch (const sdbus::Error&)
    {
        // The connection is gone: fall through to abandoning what it carried.
    }
    alive_ = false;
    if (!stopping_)
    {
        abandon();
    }
}

void BusThread::abandon()
{
    std::deque<std::function<void()>> left;
    {
        const std::lock_guard lock(tasksMutex_);
        lost_ = true;
        left.swap(tasks_);
    }
    const std::lock_guard orphan(orphanMutex_);
    for (auto& task : left)
    {
        task();
    }
    if (onLost_)
    {
        onLost_();
    }
}

} // namespace pyrunner::systemd
