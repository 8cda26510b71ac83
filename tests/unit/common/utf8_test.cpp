#include "common/utf8.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

const std::string fffd = "\xEF\xBF\xBD";

TEST(ToValidUtf8, ValidTextIsUnchanged)
{
    const std::string text =
        "plain ascii, \xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80, \xF4\x8F\xBF\xBF";
    EXPECT_EQ(toValidUtf8(text), text);
    EXPECT_TRUE(isValidUtf8(text));
}

TEST(ToValidUtf8, NulAndControlBytesAreValid)
{
    const std::string text("a\0b\x01\x7F", 5);
    EXPECT_EQ(toValidUtf8(text), text);
}

TEST(ToValidUtf8, EmptyStaysEmpty)
{
    EXPECT_EQ(toValidUtf8(""), "");
    EXPECT_TRUE(isValidUtf8(""));
}

TEST(ToValidUtf8, ALoneContinuationByteIsReplaced)
{
    EXPECT_EQ(toValidUtf8("a\x80z"), "a" + fffd + "z");
    EXPECT_EQ(toValidUtf8("\xBF\xBF"), fffd + fffd);
}

TEST(ToValidUtf8, BytesThatNeverOccurAreReplacedOneByOne)
{
    EXPECT_EQ(toValidUtf8("\xC0\xC1\xF5\xFF"), fffd + fffd + fffd + fffd);
}

TEST(ToValidUtf8, OverlongEncodingsAreReplaced)
{
    // "/" as two bytes and as three bytes: each byte is its own ill-formed subpart.
    EXPECT_EQ(toValidUtf8("\xC0\xAF"), fffd + fffd);
    EXPECT_EQ(toValidUtf8("\xE0\x80\xAF"), fffd + fffd + fffd);
    EXPECT_EQ(toValidUtf8("\xF0\x80\x80\xAF"), fffd + fffd + fffd + fffd);
    EXPECT_FALSE(isValidUtf8("\xC0\x80"));
}

TEST(ToValidUtf8, SurrogatesAreReplaced)
{
    EXPECT_EQ(toValidUtf8("\xED\xA0\x80"), fffd + fffd + fffd);
    EXPECT_EQ(toValidUtf8("\xED\xBF\xBF"), fffd + fffd + fffd);
    EXPECT_EQ(toValidUtf8("\xED\x9F\xBF"), "\xED\x9F\xBF");
    EXPECT_FALSE(isValidUtf8("\xED\xB0\x80"));
}

TEST(ToValidUtf8, CodePointsPastU10FFFFAreReplaced)
{
    EXPECT_EQ(toValidUtf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
    EXPECT_EQ(toValidUtf8("\xF7\xBF\xBF\xBF"), fffd + fffd + fffd + fffd);
    EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));
}

TEST(ToValidUtf8, ATruncatedSequenceIsOneReplacement)
{
    EXPECT_EQ(toValidUtf8("\xE2\x82"), fffd);
    EXPECT_EQ(toValidUtf8("\xF0\x9F\x98"), fffd);
    EXPECT_EQ(toValidUtf8("x\xC3"), "x" + fffd);
    EXPECT_FALSE(isValidUtf8("\xF0\x9F\x98"));
}

TEST(ToValidUtf8, ATruncatedSequenceDoesNotSwallowWhatFollows)
{
    EXPECT_EQ(toValidUtf8("\xE2\x82z"), fffd + "z");
    EXPECT_EQ(toValidUtf8("\xF0\x9F\xC3\xA9"), fffd + "\xC3\xA9");
    EXPECT_EQ(toValidUtf8("\xE2\xE2\x82\xAC"), fffd + "\xE2\x82\xAC");
}

TEST(ToValidUtf8, MatchesTheUnicodeRecommendationExample)
{
    // Unicode 15, section 3.9, table 3-8.
    EXPECT_EQ(toValidUtf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
              "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d");
}

TEST(ToValidUtf8, TheResultIsAlwaysValid)
{
    std::string everyByte;
    for (int i = 0; i < 256; ++i)
    {
        everyByte.push_back(static_cast<char>(i));
        everyByte.push_back(static_cast<char>(255 - i));
    }
    EXPECT_TRUE(isValidUtf8(toValidUtf8(everyByte)));
}

TEST(Excerpt, ShortTextIsWhole)
{
    EXPECT_EQ(excerpt("abc"), "abc");
    EXPECT_EQ(excerpt(std::string(64, 'x')), std::string(64, 'x'));
}

TEST(Excerpt, LongTextIsCut)
{
    EXPECT_EQ(excerpt(std::string(100, 'x'), 10), std::string(10, 'x') + "...");
}

TEST(Excerpt, TheCutDoesNotSplitACharacter)
{
    EXPECT_EQ(excerpt("ab\xE2\x82\xAC"
                      "cd",
                      3),
              "ab...");
    EXPECT_EQ(excerpt("ab\xE2\x82\xAC"
                      "cd",
                      5),
              "ab\xE2\x82\xAC...");
}

TEST(Excerpt, InvalidBytesAreReplaced)
{
    EXPECT_EQ(excerpt("a\xFF"), "a\xEF\xBF\xBD");
}

} // namespace
} // namespace pyrunner::core
