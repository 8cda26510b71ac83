#include "common/utf8.hpp"

#include <cstdint>

namespace pyrunner::core
{
namespace
{

constexpr std::string_view replacement = "\xEF\xBF\xBD";

// Length of the well-formed sequence starting at `at`, or 0 with `invalidLength` set to the
// bytes that make up its maximal ill-formed subpart (at least 1).
std::size_t sequenceLength(std::string_view bytes, std::size_t at, std::size_t& invalidLength)
{
    const auto lead = static_cast<std::uint8_t>(bytes[at]);
    invalidLength = 1;
    if (lead < 0x80)
    {
        return 1;
    }
    std::size_t trailing = 0;
    // The second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    std::uint8_t low = 0x80;
    std::uint8_t high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF)
    {
        trailing = 1;
    }
    else if (lead >= 0xE0 && lead <= 0xEF)
    {
        trailing = 2;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    }
    else if (lead >= 0xF0 && lead <= 0xF4)
    {
        trailing = 3;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    }
    else
    {
        return 0;
    }
    for (std::size_t i = 1; i <= trailing; ++i)
    {
        if (at + i >= bytes.size())
        {
            invalidLength = i;
            return 0;
        }
        const auto byte = static_cast<std::uint8_t>(bytes[at + i]);
        if (byte < low || byte > high)
        {
            invalidLength = i;
            return 0;
        }
        low = 0x80;
        high = 0xBF;
    }
    return trailing + 1;
}

} // namespace

bool isValidUtf8(std::string_view bytes)
{
    std::size_t at = 0;
    std::size_t invalidLength = 0;
    while (at < bytes.size())
    {
        const auto length = sequenceLength(bytes, at, invalidLength);
        if (length == 0)
        {
            return false;
        }
        at += length;
    }
    return true;
}

std::string toValidUtf8(std::string_view bytes)
{
    if (isValidUtf8(bytes))
    {
        return std::string(bytes);
    }
    std::string out;
    out.reserve(bytes.size());
    std::size_t at = 0;
    std::size_t invalidLength = 0;
    while (at < bytes.size())
    {
        const auto length = sequenceLength(bytes, at, invalidLength);
        if (length == 0)
        {
            out += replacement;
            at += invalidLength;
        }
        else
        {
            out.append(bytes.substr(at, length));
            at += length;
        }
    }
    return out;
}

std::string excerpt(std::string_view text, std::size_t maxBytes)
{
    if (text.size() <= maxBytes)
    {
        return toValidUtf8(text);
    }
    // Back up to a lead byte so the cut does not split a character.
    auto cut = maxBytes;
    while (cut > 0 && (static_cast<std::uint8_t>(text[cut]) & 0xC0U) == 0x80U)
    {
        --cut;
    }
    return toValidUtf8(text.substr(0, cut)) + "...";
}

} // namespace pyrunner::core
