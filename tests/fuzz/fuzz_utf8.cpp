// The UTF-8 helpers every client string passes through before it is quoted back. Checked
// against a decoder written here from the definition (Unicode 15, table 3-7, by value rather
// than by byte ranges): isValidUtf8 agrees with it, toValidUtf8 gives valid UTF-8, changes
// nothing valid and is idempotent, and excerpt stays valid and short.
#include "common/utf8.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace
{

using pyrunner::core::excerpt;
using pyrunner::core::isValidUtf8;
using pyrunner::core::toValidUtf8;

bool referenceIsValid(std::string_view text)
{
    std::size_t at = 0;
    while (at < text.size())
    {
        const auto lead = static_cast<std::uint8_t>(text[at]);
        std::size_t length = 0;
        std::uint32_t codePoint = 0;
        if (lead < 0x80)
        {
            length = 1;
            codePoint = lead;
        }
        else if ((lead & 0xE0U) == 0xC0U)
        {
            length = 2;
            codePoint = lead & 0x1FU;
        }
        else if ((lead & 0xF0U) == 0xE0U)
        {
            length = 3;
            codePoint = lead & 0x0FU;
        }
        else if ((lead & 0xF8U) == 0xF0U)
        {
            length = 4;
            codePoint = lead & 0x07U;
        }
        else
        {
            return false;
        }
        if (at + length > text.size())
        {
            return false;
        }
        for (std::size_t i = 1; i < length; ++i)
        {
            const auto byte = static_cast<std::uint8_t>(text[at + i]);
            if ((byte & 0xC0U) != 0x80U)
            {
                return false;
            }
            codePoint = (codePoint << 6U) | (byte & 0x3FU);
        }
        constexpr std::uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (codePoint < shortest[length] || codePoint > 0x10FFFF ||
            (codePoint >= 0xD800 && codePoint <= 0xDFFF))
        {
            return false;
        }
        at += length;
    }
    return true;
}

void checkExcerpt(std::string_view text, std::size_t maxBytes)
{
    const auto cut = excerpt(text, maxBytes);
    FUZZ_REQUIRE(isValidUtf8(cut));
    // Each byte kept may become a 3-byte U+FFFD; a cut text ends in "...".
    FUZZ_REQUIRE(cut.size() <= 3 * maxBytes + 3);
    if (text.size() <= maxBytes)
    {
        FUZZ_REQUIRE(cut == toValidUtf8(text));
    }
    else
    {
        FUZZ_REQUIRE(cut.ends_with("..."));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool valid = isValidUtf8(text);
    FUZZ_REQUIRE(valid == referenceIsValid(text));
    const auto repaired = toValidUtf8(text);
    FUZZ_REQUIRE(isValidUtf8(repaired));
    FUZZ_REQUIRE(toValidUtf8(repaired) == repaired);
    FUZZ_REQUIRE(!valid || repaired == text);
    FUZZ_REQUIRE(repaired.size() <= 3 * text.size());
    checkExcerpt(text, 64);
    checkExcerpt(text, 5);
    return 0;
}
