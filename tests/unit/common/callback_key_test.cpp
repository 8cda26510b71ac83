#include "common/callback_key.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

TEST(CallbackKey, IsSixtyFourHexDigitsAndNewEachTime)
{
    const auto key = newCallbackKey();
    EXPECT_TRUE(isCallbackKey(key));
    EXPECT_NE(newCallbackKey(), key);
}

TEST(CallbackKey, OtherShapesAreNotKeys)
{
    EXPECT_FALSE(isCallbackKey(""));
    EXPECT_FALSE(isCallbackKey(std::string(63, 'a')));
    EXPECT_FALSE(isCallbackKey(std::string(65, 'a')));
    EXPECT_FALSE(isCallbackKey(std::string(64, 'A')));
    EXPECT_FALSE(isCallbackKey(std::string(64, 'g')));
}

} // namespace
} // namespace pyrunner::core
