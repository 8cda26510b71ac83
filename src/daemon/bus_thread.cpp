#include "daemon/bus_thread.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// The bus connection's and the wake-up eventfd's, ahead of the watched fds.
constexpr std::size_t fixedPollFds = 2;

} // namespace

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

BusThread::Watch::~Watch()
{
    release();
}

BusThread::Watch::Watch(Watch&& other) noexcept
    : bus_(std::exchange(other.bus_, nullptr)), id_(other.id_)
{
}

BusThread::Watch& BusThread::Watch::operator=(Watch&& other) noexcept
{
    if (this != &other)
    {
        release();
        bus_ = std::exchange(other.bus_, nullptr);
        id_ = other.id_;
    }
    return *this;
}

void BusThread::Watch::release()
{
    if (auto* bus = std::exchange(bus_, nullptr))
    {
        bus->hangups_.erase(id_);
    }
}

BusThread::Watch BusThread::watchHangup(int fd, std::function<void()> onHangup)
{
    const auto id = nextHangup_++;
    hangups_.emplace(id, Hangup{fd, 0, std::move(onHangup)});
    return Watch(this, id);
}

BusThread::Watch BusThread::watchReadable(int fd, std::function<void()> onReadable)
{
    const auto id = nextHangup_++;
    hangups_.emplace(id, Hangup{fd, POLLIN, std::move(onReadable)});
    return Watch(this, id);
}

void BusThread::watchedFds(std::vector<pollfd>& fds, std::vector<std::uint64_t>& watched) const
{
    for (const auto& [id, hangup] : hangups_)
    {
        // A hang-up watch asks for no events: poll() reports POLLHUP and POLLERR all the same,
        // and a pidfd's POLLIN at its process's exit, before the reaping, is not wanted.
        fds.push_back({hangup.fd, hangup.events, 0});
        watched.push_back(id);
    }
}

void BusThread::runHangups(const std::vector<pollfd>& polled, std::size_t first,
                           const std::vector<std::uint64_t>& watched)
{
    // By id, one at a time: what ran since the poll, or an earlier watch here, may have ended
    // a watch or started new ones.
    for (std::size_t i = 0; i < watched.size(); ++i)
    {
        if (polled[first + i].revents == 0)
        {
            continue;
        }
        const auto it = hangups_.find(watched[i]);
        if (it == hangups_.end())
        {
            continue;
        }
        auto onHangup = std::move(it->second.onHangup);
        hangups_.erase(it);
        onHangup();
    }
}

void BusThread::loop()
{
    try
    {
        while (!stopping_)
        {
            // Hang-ups before messages: while a call waited for its reply, messages telling of
            // the same ends, later, may have been queued.
            std::vector<pollfd> fds;
            std::vector<std::uint64_t> watched;
            watchedFds(fds, watched);
            if (!fds.empty() && ::poll(fds.data(), fds.size(), 0) > 0)
            {
                runHangups(fds, 0, watched);
            }
            while (connection_.processPendingRequest())
            {
            }
            const auto poll = connection_.getEventLoopPollData();
            fds = {{poll.fd, poll.events, 0}, {wake_.get(), POLLIN, 0}};
            watched.clear();
            watchedFds(fds, watched);
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
            runHangups(fds, fixedPollFds, watched);
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
