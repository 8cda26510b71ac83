#pragma once

#include "common/fd.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <poll.h>
#include <thread>
#include <vector>

namespace sdbus
{
class IConnection;
} // namespace sdbus

namespace pyrunner::systemd
{

// The one thread that uses a bus connection. sd-bus connections are not thread-safe, so
// every call, signal and method handler on it runs here; other threads post() work.
class BusThread
{
  public:
    // A watchHangup() in force: dropping it ends the watch. Made and dropped on the bus thread.
    class Watch
    {
      public:
        Watch() = default;
        ~Watch();
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        Watch(Watch&& other) noexcept;
        Watch& operator=(Watch&& other) noexcept;

      private:
        friend class BusThread;
        Watch(BusThread* bus, std::uint64_t id) : bus_(bus), id_(id) {}
        void release();

        BusThread* bus_ = nullptr;
        std::uint64_t id_ = 0;
    };

    // `onLost` runs once if the connection drops (not after stop()); the posted work still
    // pending, and anything posted later, then runs on the caller's thread, one at a time,
    // where every call fails at once on the closed connection.
    BusThread(sdbus::IConnection& connection, std::function<void()> onLost);
    ~BusThread();
    BusThread(const BusThread&) = delete;
    BusThread& operator=(const BusThread&) = delete;
    BusThread(BusThread&&) = delete;
    BusThread& operator=(BusThread&&) = delete;

    void start();
    // Joins the thread; nothing posted runs after it returns. Idempotent.
    void stop();
    void post(std::function<void()> task);
    // Until the connection drops or stop().
    bool alive() const { return alive_; }
    // Blocks until the thread has ended (connection lost or stopped).
    void wait();
    // On the bus thread: runs `onHangup` there, once, when poll(2) reports POLLHUP or POLLERR
    // on `fd` (for a pidfd: its process has been reaped). `fd` must stay open while the
    // Watch lives; the BusThread must outlive it.
    [[nodiscard]] Watch watchHangup(int fd, std::function<void()> onHangup);
    // Likewise, once `fd` is readable (or hung up): to go on watching, watch again.
    [[nodiscard]] Watch watchReadable(int fd, std::function<void()> onReadable);

  private:
    struct Hangup
    {
        int fd;
        // poll(2)'s events; POLLHUP and POLLERR are reported whatever they are.
        short events;
        std::function<void()> onHangup;
    };

    void loop();
    void runPosted();
    // Appends the watched fds to `fds` and their ids, in the same order, to `watched`.
    void watchedFds(std::vector<pollfd>& fds, std::vector<std::uint64_t>& watched) const;
    // Runs the watches `watched` whose fds poll() found hung up in `polled`, where they are
    // from index `first` on, in the same order.
    void runHangups(const std::vector<pollfd>& polled, std::size_t first,
                    const std::vector<std::uint64_t>& watched);
    void abandon();

    sdbus::IConnection& connection_;
    const std::function<void()> onLost_;
    std::mutex tasksMutex_;
    std::deque<std::function<void()>> tasks_;
    bool lost_ = false;
    std::mutex orphanMutex_;
    core::UniqueFd wake_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> alive_{false};
    // Touched on the bus thread alone, by id; ids are never reused.
    std::map<std::uint64_t, Hangup> hangups_;
    std::uint64_t nextHangup_ = 1;
    std::thread thread_;
};

} // namespace pyrunner::systemd
