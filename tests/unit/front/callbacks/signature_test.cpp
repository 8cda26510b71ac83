#include "front/callbacks/signature.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

// RFC 4231, test case 2.
TEST(HmacSha256Hex, MatchesTheRfc4231Vector)
{
    EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CallbackSignature, IsSha256EqualsTheLowercaseHexMac)
{
    const auto signature = callbackSignature("Jefe", "what do ya want for nothing?");
    EXPECT_EQ(signature, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_NE(callbackSignature("Jefe", "what do ya want for nothing!"), signature);
    EXPECT_NE(callbackSignature("jefe", "what do ya want for nothing?"), signature);
}

} // namespace
} // namespace pyrunner::core
