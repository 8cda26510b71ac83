#include "front/http/event_stream.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace pyrunner::http
{
namespace
{

using Kind = EventStep::Kind;
using core::Stream;

constexpr std::uint64_t cap = 100;

// The JSON of the data line of one event.
nlohmann::json dataOf(const std::string& event)
{
    const auto start = event.find("\ndata: ") + 7;
    return nlohmann::json::parse(event.substr(start, event.find('\n', start) - start));
}

std::string idOf(const std::string& event)
{
    return event.substr(4, event.find('\n') - 4);
}

TEST(EventId, FormatsStageAndOffsets)
{
    EXPECT_EQ(formatEventId({EventStage::Running, {1024, 7}}), "2-1024-7");
    EXPECT_EQ(formatEventId({}), "0-0-0");
}

TEST(EventId, ParsesWhatItFormats)
{
    const EventPosition position{EventStage::Final, {18446744073709551615ULL, 3}};
    EXPECT_EQ(parseEventId(formatEventId(position)), position);
}

TEST(EventId, RefusesAnythingElse)
{
    for (const auto* text : {"", "1", "1-2", "1-2-3-4", "5-0-0", "-1-0-0", "1--0", "1-0-", "+1-0-0",
                             "1-0-0 ", " 1-0-0", "a-0-0", "1-0x1-0", "1-18446744073709551616-0"})
    {
        EXPECT_FALSE(parseEventId(text)) << text;
    }
}

TEST(Utf8Chunk, KeepsCompleteSequences)
{
    EXPECT_EQ(utf8ChunkLength("abc", false), 3U);
    EXPECT_EQ(utf8ChunkLength("a\xC3\xA9", false), 3U);
    EXPECT_EQ(utf8ChunkLength("a\xF0\x9F\x98\x80", false), 5U);
    EXPECT_EQ(utf8ChunkLength("", false), 0U);
}

TEST(Utf8Chunk, HoldsBackAnIncompleteSequenceAtTheEnd)
{
    EXPECT_EQ(utf8ChunkLength("a\xC3", false), 1U);
    EXPECT_EQ(utf8ChunkLength("a\xE2\x82", false), 1U);
    EXPECT_EQ(utf8ChunkLength("ab\xF0\x9F\x98", false), 2U);
    EXPECT_EQ(utf8ChunkLength("\xF0", false), 0U);
}

TEST(Utf8Chunk, LetsInvalidBytesThroughAndAllAtTheEnd)
{
    EXPECT_EQ(utf8ChunkLength("a\xFF", false), 2U);
    EXPECT_EQ(utf8ChunkLength("a\x80\x80", false), 3U);
    EXPECT_EQ(utf8ChunkLength("\x80\x80\x80\x80\x80", false), 5U);
    EXPECT_EQ(utf8ChunkLength("a\xE2\x82", true), 3U);
}

TEST(SseEvent, FramesIdNameAndData)
{
    EXPECT_EQ(sseEvent("1-0-0", "status", R"({"a":1})"),
              "id: 1-0-0\nevent: status\ndata: {\"a\":1}\n\n");
}

TEST(EventCursor, SendsTheStatusFirstAndOnEachChange)
{
    EventCursor cursor({}, cap);
    EXPECT_EQ(cursor.next(EventStage::Queued, {0, 0}).kind, Kind::Status);
    const auto queued = cursor.status(EventStage::Queued, "{}");
    EXPECT_EQ(idOf(queued), "1-0-0");
    EXPECT_EQ(cursor.next(EventStage::Queued, {0, 0}).kind, Kind::Wait);
    EXPECT_EQ(cursor.next(EventStage::Running, {0, 0}).kind, Kind::Status);
    EXPECT_EQ(idOf(cursor.status(EventStage::Running, "{}")), "2-0-0");
    EXPECT_EQ(cursor.next(EventStage::Running, {0, 0}).kind, Kind::Wait);
}

TEST(EventCursor, StreamsOutputInOrderWithOffsets)
{
    EventCursor cursor({EventStage::Running, {0, 0}}, cap);
    const auto step = cursor.next(EventStage::Running, {5, 2});
    ASSERT_EQ(step.kind, Kind::Output);
    EXPECT_EQ(step.stream, Stream::Stdout);
    EXPECT_EQ(step.offset, 0U);
    EXPECT_EQ(step.length, 5U);
    EXPECT_FALSE(step.last);
    const auto event = cursor.output(Stream::Stdout, "hello", false);
    EXPECT_EQ(event.substr(0, event.find("data:")), "id: 2-5-0\nevent: stdout\n");
    EXPECT_EQ(dataOf(event), (nlohmann::json{{"offset", 0}, {"data", "hello"}}));
    const auto err = cursor.next(EventStage::Running, {5, 2});
    ASSERT_EQ(err.kind, Kind::Output);
    EXPECT_EQ(err.stream, Stream::Stderr);
    EXPECT_EQ(dataOf(cursor.output(Stream::Stderr, "!\n", false))["data"], "!\n");
    EXPECT_EQ(cursor.position(), (EventPosition{EventStage::Running, {5, 2}}));
    EXPECT_EQ(cursor.next(EventStage::Running, {5, 2}).kind, Kind::Wait);
    const auto more = cursor.next(EventStage::Running, {9, 2});
    EXPECT_EQ(more.offset, 5U);
    EXPECT_EQ(more.length, 4U);
}

TEST(EventCursor, CutsOutputIntoChunks)
{
    EventCursor cursor({EventStage::Running, {0, 0}}, 1U << 20U);
    const auto step = cursor.next(EventStage::Running, {outputChunkBytes * 2 + 1, 0});
    EXPECT_EQ(step.length, outputChunkBytes);
}

TEST(EventCursor, NeverGoesPastTheCap)
{
    EventCursor cursor({EventStage::Running, {0, 0}}, cap);
    const auto step = cursor.next(EventStage::Running, {cap + 1, 0});
    EXPECT_EQ(step.length, cap);
    cursor.output(Stream::Stdout, std::string(cap, 'x'), false);
    EXPECT_EQ(cursor.next(EventStage::Running, {cap + 1, 0}).kind, Kind::Wait);
    EXPECT_EQ(cursor.next(EventStage::Final, {cap + 1, 0}).kind, Kind::Status);
}

TEST(EventCursor, WaitsForTheRestOfASequenceAndSendsItWhole)
{
    EventCursor cursor({EventStage::Running, {0, 0}}, cap);
    cursor.next(EventStage::Running, {3, 0});
    EXPECT_EQ(dataOf(cursor.output(Stream::Stdout, "a\xE2\x82", false))["data"], "a");
    const auto rest = cursor.next(EventStage::Running, {3, 0});
    ASSERT_EQ(rest.kind, Kind::Output);
    EXPECT_EQ(rest.offset, 1U);
    EXPECT_EQ(cursor.output(Stream::Stdout, "\xE2\x82", false), "");
    EXPECT_EQ(cursor.next(EventStage::Running, {3, 0}).kind, Kind::Wait);
    const auto grown = cursor.next(EventStage::Running, {4, 0});
    ASSERT_EQ(grown.kind, Kind::Output);
    const auto euro = cursor.output(Stream::Stdout, "\xE2\x82\xAC", false);
    EXPECT_EQ(dataOf(euro), (nlohmann::json{{"offset", 1}, {"data", "\xE2\x82\xAC"}}));
}

TEST(EventCursor, ReplacesInvalidBytesAndFlushesAnIncompleteTailAtTheEnd)
{
    EventCursor cursor({EventStage::Running, {0, 0}}, cap);
    cursor.next(EventStage::Running, {2, 0});
    EXPECT_EQ(dataOf(cursor.output(Stream::Stdout, "\xFF\xC3", false))["data"], "\xEF\xBF\xBD");
    EXPECT_EQ(cursor.next(EventStage::Running, {2, 0}).kind, Kind::Output);
    EXPECT_EQ(cursor.output(Stream::Stdout, "\xC3", false), "");
    EXPECT_EQ(cursor.next(EventStage::Running, {2, 0}).kind, Kind::Wait);
    const auto tail = cursor.next(EventStage::Final, {2, 0});
    ASSERT_EQ(tail.kind, Kind::Output);
    EXPECT_TRUE(tail.last);
    EXPECT_EQ(dataOf(cursor.output(Stream::Stdout, "\xC3", tail.last))["data"], "\xEF\xBF\xBD");
}

TEST(EventCursor, EndsWithTheFinalStatusThenEnd)
{
    EventCursor cursor({EventStage::Running, {2, 0}}, cap);
    ASSERT_EQ(cursor.next(EventStage::Final, {4, 0}).kind, Kind::Output);
    cursor.output(Stream::Stdout, "ab", true);
    ASSERT_EQ(cursor.next(EventStage::Final, {4, 0}).kind, Kind::Status);
    EXPECT_EQ(idOf(cursor.status(EventStage::Final, "{}")), "3-4-0");
    ASSERT_EQ(cursor.next(EventStage::Final, {4, 0}).kind, Kind::End);
    const auto frame = cursor.end();
    EXPECT_EQ(frame.head, "id: 4-4-0\nevent: end\ndata: ");
    EXPECT_EQ(frame.tail, "\n\n");
    EXPECT_EQ(cursor.next(EventStage::Final, {4, 0}).kind, Kind::Done);
}

TEST(EventCursor, ReplaysAFinishedRunStatusFirst)
{
    EventCursor cursor({}, cap);
    ASSERT_EQ(cursor.next(EventStage::Final, {3, 0}).kind, Kind::Status);
    EXPECT_EQ(idOf(cursor.status(EventStage::Final, "{}")), "3-0-0");
    ASSERT_EQ(cursor.next(EventStage::Final, {3, 0}).kind, Kind::Output);
    cursor.output(Stream::Stdout, "abc", true);
    EXPECT_EQ(cursor.next(EventStage::Final, {3, 0}).kind, Kind::End);
}

TEST(EventCursor, ResumesWhereTheLastEventIdSays)
{
    EventCursor cursor({EventStage::Running, {3, 1}}, cap);
    const auto step = cursor.next(EventStage::Running, {5, 1});
    ASSERT_EQ(step.kind, Kind::Output);
    EXPECT_EQ(step.offset, 3U);
    EXPECT_EQ(step.length, 2U);
}

TEST(EventCursor, ResumedPastTheOutputSendsNothingOfIt)
{
    EventCursor cursor({EventStage::Final, {500, 500}}, cap);
    EXPECT_EQ(cursor.next(EventStage::Final, {10, 10}).kind, Kind::End);
}

} // namespace
} // namespace pyrunner::http
