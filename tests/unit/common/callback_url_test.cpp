#include "common/callback_url.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

TEST(CallbackUrlFault, TakesHttpAndHttpsUrlsWithAHost)
{
    EXPECT_EQ(callbackUrlFault("https://hooks.example/pyrunner/done?run=1"), std::nullopt);
    EXPECT_EQ(callbackUrlFault("http://127.0.0.1:9000"), std::nullopt);
    EXPECT_EQ(callbackUrlFault("http://[::1]:9000/a/b"), std::nullopt);
}

TEST(CallbackUrlFault, RefusesOtherSchemesAndMissingHosts)
{
    const std::string scheme = "callback_url must start with http:// or https://.";
    EXPECT_EQ(callbackUrlFault("ftp://hooks.example/"), scheme);
    EXPECT_EQ(callbackUrlFault("HTTPS://hooks.example/"), scheme);
    EXPECT_EQ(callbackUrlFault("file:///etc/passwd"), scheme);
    EXPECT_EQ(callbackUrlFault("hooks.example/"), scheme);
    EXPECT_EQ(callbackUrlFault("https:///path"), "callback_url must name a host.");
    EXPECT_EQ(callbackUrlFault("https://"), "callback_url must name a host.");
}

TEST(CallbackUrlFault, RefusesWhitespaceControlsBackslashesAndUserInformation)
{
    const std::string blank = "callback_url must not contain whitespace or control characters.";
    EXPECT_EQ(callbackUrlFault("https://hooks.example/a b"), blank);
    EXPECT_EQ(callbackUrlFault("https://hooks.example/a\r\nX-Evil: 1"), blank);
    EXPECT_EQ(callbackUrlFault(std::string("https://hooks.example/\0", 23)), blank);
    EXPECT_EQ(callbackUrlFault("https://hooks.example/\x7f"), blank);
    EXPECT_EQ(callbackUrlFault("https://hooks.example\\@evil/"),
              "callback_url must not contain a backslash.");
    EXPECT_EQ(callbackUrlFault("https://hooks.example@evil.example/"),
              "callback_url must not carry a user name or password.");
}

TEST(CallbackUrlFault, RefusesDotSegmentsAndLongUrls)
{
    const std::string dots = "callback_url must not have a \".\" or \"..\" path segment.";
    EXPECT_EQ(callbackUrlFault("https://hooks.example/pyrunner/../admin"), dots);
    EXPECT_EQ(callbackUrlFault("https://hooks.example/pyrunner/.."), dots);
    EXPECT_EQ(callbackUrlFault("https://hooks.example/./x"), dots);
    EXPECT_EQ(callbackUrlFault("https://hooks.example/a..b/x?y=/../"), std::nullopt);
    const std::string base = "https://hooks.example/";
    EXPECT_EQ(callbackUrlFault(base + std::string(maxCallbackUrlBytes - base.size(), 'a')),
              std::nullopt);
    EXPECT_EQ(callbackUrlFault(base + std::string(maxCallbackUrlBytes - base.size() + 1, 'a')),
              "callback_url is longer than 2048 bytes.");
}

TEST(IsUnderPrefix, EndsAtABoundaryOfTheUrl)
{
    EXPECT_TRUE(
        isUnderPrefix("https://hooks.example/pyrunner/x", "https://hooks.example/pyrunner/"));
    EXPECT_TRUE(isUnderPrefix("https://hooks.example", "https://hooks.example"));
    EXPECT_TRUE(isUnderPrefix("https://hooks.example/x", "https://hooks.example"));
    EXPECT_TRUE(isUnderPrefix("https://hooks.example?x=1", "https://hooks.example"));
    EXPECT_FALSE(isUnderPrefix("https://hooks.example.evil/x", "https://hooks.example"));
    EXPECT_FALSE(isUnderPrefix("https://hooks.example:8443/x", "https://hooks.example"));
    EXPECT_FALSE(
        isUnderPrefix("https://hooks.example/pyrunnerx", "https://hooks.example/pyrunner"));
    EXPECT_FALSE(isUnderPrefix("http://hooks.example/x", "https://hooks.example/"));
    EXPECT_FALSE(isUnderPrefix("https://hooks.example/x", ""));
}

TEST(CallbackUrlRefusal, NeedsAnAllowedPrefixAndAValidUrl)
{
    const std::vector<std::string> allow{"http://127.0.0.1:9000/hooks/"};
    EXPECT_EQ(callbackUrlRefusal("http://127.0.0.1:9000/hooks/a", allow), std::nullopt);
    EXPECT_EQ(callbackUrlRefusal("http://127.0.0.1:9000/other", allow),
              "callback_url is not under a prefix this server allows ([callbacks] allow); its "
              "operator can say which.");
    EXPECT_EQ(callbackUrlRefusal("http://127.0.0.1:9000/hooks/../admin", allow),
              "callback_url must not have a \".\" or \"..\" path segment.");
    EXPECT_EQ(callbackUrlRefusal("http://127.0.0.1:9000/hooks/a", {}),
              "This server accepts no callback_url: its operator has allowed no callback prefix "
              "([callbacks] allow).");
}

} // namespace
} // namespace pyrunner::core
