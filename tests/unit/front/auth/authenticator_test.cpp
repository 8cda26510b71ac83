#include "front/auth/authenticator.hpp"
#include "front/auth/token.hpp"
#include "front/auth/token_command.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace pyrunner::auth
{
namespace
{

using namespace std::chrono_literals;
using Kind = AuthRefusal::Kind;
const std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};

struct Fixture
{
    test::TempDir dir{"pyrunner-auth"};
    std::string path = (dir.path() / "tokens").string();
    std::vector<std::string> log;
    Authenticator authenticator{path, 3, [this](const std::string& line) { log.push_back(line); }};

    std::string create(const std::string& name, const TenantOptions& options = {})
    {
        std::ostringstream out;
        std::ostringstream err;
        EXPECT_EQ(createToken(path, name, options, out, err), 0) << err.str();
        auto token = out.str();
        token.pop_back();
        return token;
    }

    std::variant<Tenant, AuthRefusal> as(std::optional<std::string_view> header,
                                         std::string_view client = "192.0.2.1",
                                         std::chrono::steady_clock::time_point at = now)
    {
        return authenticator.authenticate(header, client, at);
    }
};

std::optional<AuthRefusal> refusalOf(const std::variant<Tenant, AuthRefusal>& result)
{
    if (const auto* refusal = std::get_if<AuthRefusal>(&result))
    {
        return *refusal;
    }
    return std::nullopt;
}

TEST(BearerToken, TakesTheSchemeInAnyCaseAndSpaces)
{
    EXPECT_EQ(bearerToken("Bearer abc"), "abc");
    EXPECT_EQ(bearerToken("bearer abc"), "abc");
    EXPECT_EQ(bearerToken("BEARER   abc  "), "abc");
    EXPECT_FALSE(bearerToken(""));
    EXPECT_FALSE(bearerToken("Bearer"));
    EXPECT_FALSE(bearerToken("Bearer "));
    EXPECT_FALSE(bearerToken("Bearerabc"));
    EXPECT_FALSE(bearerToken("Bearer\tabc"));
    EXPECT_FALSE(bearerToken(" Bearer abc"));
    EXPECT_FALSE(bearerToken("Bearer abc def"));
    EXPECT_FALSE(bearerToken("Basic YWxpY2U6c2VjcmV0"));
    EXPECT_FALSE(bearerToken("Token abc"));
}

TEST(Authenticator, LetsATenantsTokenIn)
{
    Fixture f;
    TenantOptions options;
    options.admin = true;
    options.maxQueued = CapSetting{5};
    const auto token = f.create("alice", options);
    const auto result = f.as("Bearer " + token);
    ASSERT_TRUE(std::holds_alternative<Tenant>(result));
    const auto& tenant = std::get<Tenant>(result);
    EXPECT_EQ(tenant.name, "alice");
    EXPECT_TRUE(tenant.admin);
    EXPECT_EQ(tenant.maxQueued, 5U);
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("bearer " + token)));
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("Bearer  " + token + " ")));
    EXPECT_EQ(f.authenticator.tenant("alice"), tenant);
    EXPECT_FALSE(f.authenticator.tenant("bob"));
}

TEST(Authenticator, RefusesAnythingElse)
{
    Fixture f;
    const auto token = f.create("alice");
    EXPECT_EQ(refusalOf(f.as(std::nullopt)), AuthRefusal{Kind::Missing});
    const std::vector<std::string> headers{
        "",
        "Bearer " + newToken(),
        "Bearer " + token.substr(0, token.size() - 1),
        "Bearer " + token + "A",
        "Bearer " + token.substr(0, 20) + "\xc3\xa9" + token.substr(22),
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer " + tokenHash(token),
        token,
    };
    for (const auto& header : headers)
    {
        // A client of its own each time, so that none is locked out.
        const auto client = "198.51.100." + std::to_string(&header - headers.data());
        EXPECT_EQ(refusalOf(f.as(header, client)), AuthRefusal{Kind::Invalid}) << header;
    }
}

TEST(Authenticator, ARevokedTokenIsRefusedAtOnce)
{
    Fixture f;
    const auto old = f.create("alice");
    const auto rotated = f.create("alice");
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("Bearer " + old)));
    std::ostringstream out;
    std::ostringstream err;
    ASSERT_EQ(revokeTokens(f.path, "alice", tokenIdOf(tokenHash(old)), out, err), 0);
    EXPECT_EQ(refusalOf(f.as("Bearer " + old)), AuthRefusal{Kind::Invalid});
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("Bearer " + rotated)));
    ASSERT_EQ(revokeTokens(f.path, "alice", std::nullopt, out, err), 0);
    EXPECT_EQ(refusalOf(f.as("Bearer " + rotated)), AuthRefusal{Kind::Invalid});
    EXPECT_FALSE(f.authenticator.tenant("alice"));
}

TEST(Authenticator, LocksOutAClientThatFailsTooOftenWithoutLookingAtItsToken)
{
    Fixture f;
    const auto token = f.create("alice");
    for (int i = 0; i < 3; ++i)
    {
        EXPECT_EQ(refusalOf(f.as("Bearer wrong")), AuthRefusal{Kind::Invalid});
    }
    ASSERT_EQ(f.log.size(), 1U);
    EXPECT_EQ(f.log[0], "pyrunnerd refuses 192.0.2.1 for 20 s: too many failed authentications");
    EXPECT_EQ(refusalOf(f.as("Bearer " + token)), (AuthRefusal{Kind::Throttled, 20s}));
    EXPECT_EQ(refusalOf(f.as("Bearer wrong", "192.0.2.1", now + 5s)),
              (AuthRefusal{Kind::Throttled, 15s}));
    EXPECT_EQ(refusalOf(f.as(std::nullopt)), (AuthRefusal{Kind::Throttled, 20s}));
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("Bearer " + token, "192.0.2.2")));
    EXPECT_TRUE(std::holds_alternative<Tenant>(f.as("Bearer " + token, "192.0.2.1", now + 20s)));
}

TEST(Authenticator, AMissingHeaderIsNoFailure)
{
    Fixture f;
    for (int i = 0; i < 10; ++i)
    {
        EXPECT_EQ(refusalOf(f.as(std::nullopt)), AuthRefusal{Kind::Missing});
    }
}

TEST(Authenticator, ABrokenFileIsLogged)
{
    Fixture f;
    std::ofstream(f.path) << "nonsense";
    EXPECT_EQ(refusalOf(f.as("Bearer " + newToken())), AuthRefusal{Kind::Invalid});
    ASSERT_EQ(f.log.size(), 1U);
    EXPECT_EQ(f.log[0].rfind(f.path + ": not valid JSON.", 0), 0U);
}

TEST(Authenticator, NamesEveryTenantAdminsFirst)
{
    Fixture f;
    EXPECT_TRUE(f.authenticator.tenantNames().empty());
    f.create("zed");
    f.create("bob");
    TenantOptions admin;
    admin.admin = true;
    f.create("root", admin);
    EXPECT_EQ(f.authenticator.tenantNames(), (std::vector<std::string>{"root", "bob", "zed"}));
}

} // namespace
} // namespace pyrunner::auth
