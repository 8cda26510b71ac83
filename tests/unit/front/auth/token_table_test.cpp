#include "front/auth/token.hpp"
#include "front/auth/token_table.hpp"

#include <gtest/gtest.h>

namespace pyrunner::auth
{
namespace
{

TokenRecord recordOf(const std::string& token)
{
    const auto hash = tokenHash(token);
    return {tokenIdOf(hash), hash, "2024-05-01T12:00:00Z"};
}

struct Tokens
{
    std::string alice1 = newToken();
    std::string alice2 = newToken();
    std::string bob = newToken();

    TokenTable table() const
    {
        TenantRecord alice;
        alice.tenant.name = "alice";
        alice.tenant.maxRunning = 2;
        alice.tenant.caps.cpuPercent = 50;
        alice.tokens = {recordOf(alice1), recordOf(alice2)};
        TenantRecord bobs;
        bobs.tenant.name = "bob";
        bobs.tenant.admin = true;
        bobs.tokens = {recordOf(bob)};
        return TokenTable({bobs, alice});
    }
};

TEST(TokenTable, FindsTheTenantOfEachToken)
{
    const Tokens tokens;
    const auto table = tokens.table();
    const auto alice = table.find(tokens.alice1);
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->name, "alice");
    EXPECT_FALSE(alice->admin);
    EXPECT_EQ(alice->maxRunning, 2U);
    EXPECT_EQ(alice->caps.cpuPercent, 50U);
    EXPECT_EQ(table.find(tokens.alice2), alice);
    const auto bob = table.find(tokens.bob);
    ASSERT_TRUE(bob);
    EXPECT_EQ(bob->name, "bob");
    EXPECT_TRUE(bob->admin);
}

TEST(TokenTable, AnUnknownOrMisshapenTokenIsNobodys)
{
    const Tokens tokens;
    const auto table = tokens.table();
    EXPECT_FALSE(table.find(newToken()));
    EXPECT_FALSE(table.find(""));
    EXPECT_FALSE(table.find(tokens.alice1.substr(0, tokens.alice1.size() - 1)));
    EXPECT_FALSE(table.find(tokens.alice1 + "A"));
    EXPECT_FALSE(table.find(tokens.alice1.substr(4)));
    EXPECT_FALSE(table.find(tokenHash(tokens.alice1)));
    EXPECT_FALSE(TokenTable().find(tokens.alice1));
}

TEST(TokenTable, NamesTenantsAndListsThemInOrder)
{
    const Tokens tokens;
    const auto table = tokens.table();
    EXPECT_EQ(table.tenant("bob")->name, "bob");
    EXPECT_FALSE(table.tenant("carol"));
    ASSERT_EQ(table.records().size(), 2U);
    EXPECT_EQ(table.records()[0].tenant.name, "alice");
    EXPECT_EQ(table.records()[0].tokens.size(), 2U);
    EXPECT_EQ(table.records()[1].tenant.name, "bob");
}

} // namespace
} // namespace pyrunner::auth
