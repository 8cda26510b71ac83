#pragma once

#include "common/fd.hpp"
#include "daemon/bus_thread.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace pyrunner::systemd
{

// Holds each run's stdout and stderr to its output cap. The kernel's file size limit cannot:
// it would cap every file the run writes, its data in its writable space included. So the
// broker follows both files with inotify, on the bus thread, and when one passes the cap,
// says so once (the caller ends the run) and cuts it back to the cap and one byte, which is
// how the server tells "past the cap" from "exactly at it". A run whose broker is away is
// bounded by LimitFSIZE= (its disk_mb) until a broker follows it again and watches anew.
class OutputWatch
{
  public:
    // Runs on the bus thread, once per watch(), when a stream first passes its cap.
    using OnPassed = std::function<void(const std::string& key)>;

    // `bus` must outlive it. Throws std::system_error if inotify cannot be had.
    OutputWatch(BusThread& bus, OnPassed onPassed);
    ~OutputWatch();
    OutputWatch(const OutputWatch&) = delete;
    OutputWatch& operator=(const OutputWatch&) = delete;
    OutputWatch(OutputWatch&&) = delete;
    OutputWatch& operator=(OutputWatch&&) = delete;

    // Follows the files `stdout` and `stderr` of `outputDir`, a run directory the broker made
    // (nothing in it is the run's to name), against `capBytes`. A file already past the cap
    // (a run followed again after a restart) is cut back and said at once, before this
    // returns. A file that cannot be opened is left to LimitFSIZE= and logged.
    void watch(const std::string& key, const std::string& outputDir, std::uint64_t capBytes);
    // Stops following the run, cutting back what it wrote past the cap meanwhile. Harmless
    // for a key that is not watched.
    void unwatch(const std::string& key);

  private:
    struct Stream
    {
        core::UniqueFd file;
        int watch = -1;
    };
    struct Watched
    {
        std::uint64_t capBytes = 0;
        bool passed = false;
        std::array<Stream, 2> streams;
    };

    void arm();
    void onReadable();
    // Whether the stream is past the cap; cuts it back if so.
    bool checkStream(const Watched& watched, const Stream& stream) const;

    BusThread& bus_;
    const OnPassed onPassed_;
    core::UniqueFd inotify_;
    BusThread::Watch readable_;
    std::map<std::string, Watched> watched_;
    std::map<int, std::string> keyOf_;
};

} // namespace pyrunner::systemd
