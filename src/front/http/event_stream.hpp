#pragma once

#include "front/runs/run_service.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::http
{

// How far a run has come, as a stream of its events tells it; ordered.
enum class EventStage : std::uint8_t
{
    // Nothing sent yet.
    None = 0,
    Queued = 1,
    Running = 2,
    // The final status is known (and was sent, in a position).
    Final = 3,
    // The `end` event was sent: nothing follows.
    Ended = 4,
};

// Where a client is in a run's events: the last status it has and how many bytes of stdout and
// stderr. Every event's id is the position after it, so that a client that reconnects with
// Last-Event-ID resumes from it with nothing kept on the server.
struct EventPosition
{
    EventStage stage = EventStage::None;
    std::array<std::uint64_t, 2> offsets{};

    bool operator==(const EventPosition&) const = default;
};

// "<stage>-<stdout offset>-<stderr offset>", e.g. "2-1024-0".
std::string formatEventId(const EventPosition& position);
// The position an id names; nothing for text that is not one (the client's, so hostile).
std::optional<EventPosition> parseEventId(std::string_view id);

// How many bytes at the front of `bytes` may go out as one chunk without splitting a UTF-8
// sequence: all of them, or all but an incomplete sequence at the end that more bytes may
// complete. At the end of the output (`last`), all of them.
std::size_t utf8ChunkLength(std::string_view bytes, bool last);

// One Server-Sent Event: "id: ID\nevent: NAME\ndata: DATA\n\n". `data` holds no newline.
std::string sseEvent(std::string_view id, std::string_view name, std::string_view data);
// The comment a quiet stream sends now and then so that proxies keep it open.
inline constexpr std::string_view ssePing = ": ping\n\n";

// The largest piece of one output stream that goes out as one event.
inline constexpr std::size_t outputChunkBytes = 16 * 1024;

// What a watcher does next, from where it is and where the run is.
struct EventStep
{
    enum class Kind
    {
        // Send the run's current status.
        Status,
        // Read up to `length` bytes of `stream` at `offset` and hand them to output().
        Output,
        // Send the final Run object, then close.
        End,
        // Nothing to send until the run writes or changes.
        Wait,
        // All sent: close.
        Done,
    };
    Kind kind = Kind::Wait;
    core::Stream stream = core::Stream::Stdout;
    std::uint64_t offset = 0;
    std::size_t length = 0;
    // These bytes reach the end of the run's output: an incomplete sequence there goes out too.
    bool last = false;
};

// One watcher's place in a run's events, apart from any I/O: the status first, output as it
// comes, each stream in order and never past the run's output cap, the final status once the
// output is all out, then `end`.
class EventCursor
{
  public:
    EventCursor(EventPosition from, std::uint64_t outputCap);

    // `run`: where the run is (Queued, Running or Final; Final only once its output is
    // complete); `sizes`: its stdout's and stderr's sizes now.
    EventStep next(EventStage run, const std::array<std::uint64_t, 2>& sizes) const;

    // The `status` event for a run now at `run`, its Run object without output being `json`.
    std::string status(EventStage run, std::string_view json);
    // The event for `bytes` read as next() said (`last` as it said), or nothing when they are
    // an incomplete sequence and nothing else yet; then next() waits for that stream to grow.
    std::string output(core::Stream stream, std::string_view bytes, bool last);
    // The head and the tail of the `end` event around the final Run object's JSON, which a
    // caller may share between watchers.
    struct EndFrame
    {
        std::string head;
        std::string tail;
    };
    EndFrame end();

    const EventPosition& position() const { return position_; }

  private:
    static std::size_t index(core::Stream stream) { return stream == core::Stream::Stdout ? 0 : 1; }

    EventPosition position_;
    std::uint64_t cap_;
    // Per stream, the size at which it held back an incomplete sequence: read again once it
    // grows past that or the run is over.
    std::array<std::optional<std::uint64_t>, 2> heldAt_{};
};

} // namespace pyrunner::http
