#pragma once

#include "common/fd.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pyrunner::systemd
{

// A warm unit's handover FIFO, made at `path` in the run's directory and opened by the broker
// (for reading too, so that opening it never waits) until the unit has ended. Readable by
// "others" alone: the unit's dynamic user opens it through its bind mount; on the host, only
// root and the front's group may enter the directory, and that group may not open the FIFO.
// Empty when it cannot be made.
core::UniqueFd makeHandoverFifo(const std::string& path);

// A warm unit's ready FIFO, made at `path` in the run's directory: the broker holds its read
// end, which hangs up (POLLHUP) once the unit's bootstrap, the only writer "others" may be,
// has opened and closed it. Empty when it cannot be made.
core::UniqueFd makeReadyFifo(const std::string& path);

// Writes what of `data` the non-blocking `fd` takes now: how much that was, nullopt when the
// write failed.
std::optional<std::size_t> writeAvailable(int fd, std::string_view data);

// Makes the FIFO `fd` hold the whole `message` where it can, then writes what it takes now.
std::optional<std::size_t> writeHandover(int fd, std::string_view message);

// Writes the rest of handover messages that their FIFOs could not take at once, as the
// bootstraps read, from a thread of its own: the bus thread never waits for room.
class HandoverWriter
{
  public:
    // Runs on the writer's thread, with the key write() was given, when the bootstrap on the
    // other end took nothing for `roomWait`: it is gone or stuck.
    using OnStalled = std::function<void(const std::string& key)>;

    explicit HandoverWriter(OnStalled onStalled,
                            std::chrono::milliseconds roomWait = std::chrono::seconds(5));
    // Joins the thread; no report starts after it returns.
    ~HandoverWriter();
    HandoverWriter(const HandoverWriter&) = delete;
    HandoverWriter& operator=(const HandoverWriter&) = delete;
    HandoverWriter(HandoverWriter&&) = delete;
    HandoverWriter& operator=(HandoverWriter&&) = delete;

    // Writes `rest` to `fifo` (non-blocking, its own descriptor) under `key`.
    void write(const std::string& key, core::UniqueFd fifo, std::string rest);
    // Stops writing under `key`; a report already under way may still arrive. Harmless for a
    // key with nothing left to write.
    void cancel(const std::string& key);

  private:
    using Clock = std::chrono::steady_clock;

    struct Pending
    {
        std::string key;
        core::UniqueFd fifo;
        std::string rest;
        std::size_t written = 0;
        Clock::time_point stallsAt;
    };

    void loop();
    // Hands the pending changes to the thread's own list; false once the writer is stopping.
    bool takeChanges(std::vector<Pending>& writing);
    // Writes what `pending`'s FIFO takes now; false when it failed.
    bool writeSome(Pending& pending) const;
    void wake();

    const OnStalled onStalled_;
    const std::chrono::milliseconds roomWait_;
    core::UniqueFd wake_;
    std::mutex mutex_;
    // Guarded by mutex_: what write() and cancel() left for the thread to apply.
    std::vector<Pending> added_;
    std::vector<std::string> cancelled_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace pyrunner::systemd
