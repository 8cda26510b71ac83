#include "front/http/event_stream.hpp"

#include "common/utf8.hpp"
#include "front/http/run_json.hpp"

#include <algorithm>
#include <charconv>

namespace pyrunner::http
{
namespace
{

constexpr std::size_t maxSequenceBytes = 4;

bool isContinuation(unsigned char byte)
{
    return (byte & 0xC0U) == 0x80U;
}

// How long the sequence a byte starts is meant to be; 1 for ASCII and for a byte no
// well-formed sequence starts with.
std::size_t sequenceLength(unsigned char lead)
{
    if (lead >= 0xC2U && lead <= 0xDFU)
    {
        return 2;
    }
    if (lead >= 0xE0U && lead <= 0xEFU)
    {
        return 3;
    }
    if (lead >= 0xF0U && lead <= 0xF4U)
    {
        return 4;
    }
    return 1;
}

std::optional<std::uint64_t> parseNumber(std::string_view text)
{
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end)
    {
        return std::nullopt;
    }
    return value;
}

} // namespace

std::string formatEventId(const EventPosition& position)
{
    return std::to_string(static_cast<unsigned>(position.stage)) + "-" +
           std::to_string(position.offsets[0]) + "-" + std::to_string(position.offsets[1]);
}

std::optional<EventPosition> parseEventId(std::string_view id)
{
    const auto first = id.find('-');
    const auto second = first == std::string_view::npos ? first : id.find('-', first + 1);
    if (second == std::string_view::npos)
    {
        return std::nullopt;
    }
    const auto stage = parseNumber(id.substr(0, first));
    const auto stdoutOffset = parseNumber(id.substr(first + 1, second - first - 1));
    const auto stderrOffset = parseNumber(id.substr(second + 1));
    if (!stage || !stdoutOffset || !stderrOffset ||
        *stage > static_cast<std::uint64_t>(EventStage::Ended))
    {
        return std::nullopt;
    }
    return EventPosition{static_cast<EventStage>(*stage), {*stdoutOffset, *stderrOffset}};
}

std::size_t utf8ChunkLength(std::string_view bytes, bool last)
{
    if (last)
    {
        return bytes.size();
    }
    const auto lookBack = std::min(bytes.size(), maxSequenceBytes);
    for (std::size_t back = 1; back <= lookBack; ++back)
    {
        const auto at = bytes.size() - back;
        const auto byte = static_cast<unsigned char>(bytes[at]);
        if (!isContinuation(byte))
        {
            return back < sequenceLength(byte) ? at : bytes.size();
        }
    }
    // Only continuation bytes at the end: no sequence they could finish starts there.
    return bytes.size();
}

std::string sseEvent(std::string_view id, std::string_view name, std::string_view data)
{
    std::string event;
    event.reserve(id.size() + name.size() + data.size() + 24);
    event.append("id: ").append(id).append("\nevent: ").append(name);
    event.append("\ndata: ").append(data).append("\n\n");
    return event;
}

EventCursor::EventCursor(EventPosition from, std::uint64_t outputCap)
    : position_(from), cap_(outputCap)
{
}

EventStep EventCursor::next(EventStage run, const std::array<std::uint64_t, 2>& sizes) const
{
    if (position_.stage == EventStage::Ended)
    {
        return {EventStep::Kind::Done};
    }
    if (position_.stage == EventStage::None || (run < EventStage::Final && run > position_.stage))
    {
        return {EventStep::Kind::Status};
    }
    for (const auto stream : {core::Stream::Stdout, core::Stream::Stderr})
    {
        const auto i = index(stream);
        const auto limit = std::min(sizes.at(i), cap_);
        const auto offset = position_.offsets.at(i);
        const auto held = heldAt_.at(i);
        if (offset >= limit || (held && *held >= limit && run != EventStage::Final))
        {
            continue;
        }
        const auto length =
            static_cast<std::size_t>(std::min<std::uint64_t>(outputChunkBytes, limit - offset));
        return {EventStep::Kind::Output, stream, offset, length,
                run == EventStage::Final && offset + length == limit};
    }
    if (run == EventStage::Final)
    {
        return {position_.stage < EventStage::Final ? EventStep::Kind::Status
                                                    : EventStep::Kind::End};
    }
    return {EventStep::Kind::Wait};
}

std::string EventCursor::status(EventStage run, std::string_view json)
{
    position_.stage = std::max(position_.stage, run);
    return sseEvent(formatEventId(position_), "status", json);
}

std::string EventCursor::output(core::Stream stream, std::string_view bytes, bool last)
{
    const auto i = index(stream);
    const auto length = utf8ChunkLength(bytes, last);
    auto& offset = position_.offsets.at(i);
    if (length == 0)
    {
        heldAt_.at(i) = offset + bytes.size();
        return {};
    }
    const auto start = offset;
    offset += length;
    heldAt_.at(i).reset();
    const nlohmann::json data{{"offset", start},
                              {"data", core::toValidUtf8(bytes.substr(0, length))}};
    return sseEvent(formatEventId(position_), stream == core::Stream::Stdout ? "stdout" : "stderr",
                    dumpJson(data));
}

EventCursor::EndFrame EventCursor::end()
{
    position_.stage = EventStage::Ended;
    return {"id: " + formatEventId(position_) + "\nevent: end\ndata: ", "\n\n"};
}

} // namespace pyrunner::http
