#pragma once

#include "core/fd.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

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

  private:
    void loop();
    void runPosted();
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
    std::thread thread_;
};

} // namespace pyrunner::systemd
