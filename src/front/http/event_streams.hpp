#pragma once

#include "common/fd.hpp"
#include "front/http/event_stream.hpp"
#include "front/http/message.hpp"
#include "front/runs/run_events.hpp"
#include "front/runs/run_service.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pyrunner::http
{

struct EventStreamsOptions
{
    std::size_t maxWatchers = 256;
    // A quiet stream sends a comment this often, so that proxies keep it open.
    std::chrono::milliseconds pingInterval = std::chrono::seconds(15);
    // A client that takes nothing of what it was sent for this long is dropped.
    std::chrono::milliseconds stallTimeout = std::chrono::seconds(30);
};

// Streams runs' events (GET /runs/{id}/events) to their watchers, all from one thread of its
// own: an epoll loop woken by the clients' sockets taking data, by inotify on the runs' output
// files, and by the run lifecycle's events, never by a timer polling for output. A watcher
// holds at most one event beyond what its socket took; its output is read from the file at its
// own offset only once its socket has taken the previous event, so a client that reads slowly
// slows nobody else, and one that takes nothing for stallTimeout is dropped. The loop writes
// to its own duplicate of each socket: Pistache 0.0.5 names a connection in its asynchronous
// writes by the descriptor's number, which a closed connection hands on to the next client,
// and never settles a write's promise once the client has gone.
class EventStreams final : public core::RunEvents
{
  public:
    explicit EventStreams(EventStreamsOptions options = {});
    ~EventStreams() override;
    EventStreams(const EventStreams&) = delete;
    EventStreams& operator=(const EventStreams&) = delete;
    EventStreams(EventStreams&&) = delete;
    EventStreams& operator=(EventStreams&&) = delete;

    // Starts the loop; `service` must outlive stop(). Throws std::system_error when epoll,
    // eventfd or inotify cannot be had.
    void start(const core::RunService& service);
    // Ends every stream (the clients see their connections close) and joins the loop.
    // Idempotent.
    void stop();

    // Streams the run `runId` from `from` on the connection `take` hands over; false, without
    // taking it, when maxWatchers streams are open already (or the loop is not running).
    bool watch(const TakeConnection& take, std::string runId, EventPosition from);
    // Streams open now.
    std::size_t watchers() const { return count_.load(); }

    void started(const core::Run& run, std::string_view client) override;
    void finished(const core::Run& run, std::string_view client) override;

  private:
    using Clock = std::chrono::steady_clock;
    using Key = std::uint64_t;

    struct Arrival
    {
        core::UniqueFd socket;
        std::string runId;
        EventPosition from;
    };
    // A run that has watchers, as the loop knows it.
    struct RunWatch
    {
        EventStage stage = EventStage::None;
        std::uint64_t cap = 0;
        // The Run object without output, as a status event carries it.
        std::string statusJson;
        std::array<core::UniqueFd, 2> files;
        std::array<int, 2> inotifyWatches{-1, -1};
        // The final Run object, shared by every watcher of the run.
        std::shared_ptr<const std::string> endJson;
        std::set<Key> watchers;
    };
    struct Watcher
    {
        core::UniqueFd socket;
        std::string runId;
        EventCursor cursor;
        // What is to go out, in order; the first is sent up to `sent`.
        std::deque<std::shared_ptr<const std::string>> pending;
        std::size_t sent = 0;
        bool closeWhenSent = false;
        Clock::time_point lastProgress;
        Clock::time_point nextPing;
    };

    void run();
    void takeHandedOver();
    void addWatcher(Arrival arrival);
    void refresh(const std::string& runId);
    void onInotify();
    void pump(Key key);
    // Sends what is pending; false when it cannot all go now (or the watcher was dropped).
    bool flush(Key key, Watcher& watcher);
    void queue(Watcher& watcher, std::string text);
    // Ends a stream: `abort` drops a client that stalled or went away, resetting its
    // connection; otherwise the client reads up to the end.
    void remove(Key key, bool abort);
    std::array<std::uint64_t, 2> sizes(const RunWatch& run) const;
    void stopFollowing(RunWatch& run);
    int msUntilNextDeadline(Clock::time_point now) const;
    void onDeadlines(Clock::time_point now);

    const EventStreamsOptions options_;
    const core::RunService* service_ = nullptr;
    core::UniqueFd epoll_;
    core::UniqueFd wake_;
    core::UniqueFd inotify_;

    mutable std::mutex mutex_;
    bool running_ = false;
    bool stopping_ = false;
    std::vector<Arrival> arrivals_;
    std::vector<std::string> changed_;
    std::atomic<std::size_t> count_{0};

    // The loop's own.
    std::map<std::string, RunWatch> runs_;
    std::map<Key, Watcher> watchers_;
    std::map<int, std::string> runOfInotifyWatch_;
    std::set<Key> again_;
    Key nextKey_ = 16;

    std::thread thread_;
};

} // namespace pyrunner::http
