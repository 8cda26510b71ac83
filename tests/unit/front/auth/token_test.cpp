#include "front/auth/token.hpp"

#include <gtest/gtest.h>

#include <set>

namespace pyrunner::auth
{
namespace
{

TEST(Token, IsThePrefixAnd43Base64UrlCharacters)
{
    const auto token = newToken();
    EXPECT_EQ(token.size(), 47U);
    EXPECT_EQ(token.rfind("pyr_", 0), 0U);
    EXPECT_EQ(token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
              std::string::npos)
        << token;
    EXPECT_TRUE(isTokenShape(token));
}

TEST(Token, EachIsNew)
{
    std::set<std::string> tokens;
    for (int i = 0; i < 1000; ++i)
    {
        const auto token = newToken();
        EXPECT_TRUE(isTokenShape(token)) << token;
        tokens.insert(token);
    }
    EXPECT_EQ(tokens.size(), 1000U);
}

TEST(Token, EveryCharacterIsUsed)
{
    std::set<char> seen;
    for (int i = 0; i < 200; ++i)
    {
        const auto token = newToken();
        seen.insert(token.begin() + 4, token.end() - 1);
    }
    EXPECT_EQ(seen.size(), 64U);
}

TEST(TokenShape, AnythingElseIsNoToken)
{
    const auto token = newToken();
    EXPECT_FALSE(isTokenShape(""));
    EXPECT_FALSE(isTokenShape("pyr_"));
    EXPECT_FALSE(isTokenShape(token.substr(0, token.size() - 1)));
    EXPECT_FALSE(isTokenShape(token + "A"));
    EXPECT_FALSE(isTokenShape("pyx_" + token.substr(4)));
    EXPECT_FALSE(isTokenShape("PYR_" + token.substr(4)));
    EXPECT_FALSE(isTokenShape(token.substr(4) + "AAAA"));
    auto padded = token;
    padded.back() = '=';
    EXPECT_FALSE(isTokenShape(padded));
    auto plus = token;
    plus[10] = '+';
    EXPECT_FALSE(isTokenShape(plus));
    auto nonAscii = token;
    nonAscii.replace(10, 2, "\xc3\xa9");
    EXPECT_FALSE(isTokenShape(nonAscii));
    auto withNul = token;
    withNul[10] = '\0';
    EXPECT_FALSE(isTokenShape(withNul));
}

TEST(TokenShape, TheLastCharacterCarriesFourBits)
{
    auto token = newToken();
    token.back() = 'A';
    EXPECT_TRUE(isTokenShape(token));
    token.back() = 'E';
    EXPECT_TRUE(isTokenShape(token));
    token.back() = 'B';
    EXPECT_FALSE(isTokenShape(token));
    token.back() = '_';
    EXPECT_FALSE(isTokenShape(token));
}

TEST(TokenHash, IsSha256OfTheWholeTokenAndItsIdItsStart)
{
    const auto hash = tokenHash("abc");
    EXPECT_EQ(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(tokenIdOf(hash), "ba7816bf8f01");
    const auto token = newToken();
    EXPECT_NE(tokenHash(token), tokenHash(token.substr(4)));
}

} // namespace
} // namespace pyrunner::auth
