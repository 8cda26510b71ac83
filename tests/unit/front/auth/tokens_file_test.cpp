#include "front/auth/token.hpp"
#include "front/auth/tokens_file.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

namespace pyrunner::auth
{
namespace
{

constexpr std::string_view path = "/etc/pyrunner/tokens";

TokenRecord tokenRecord(const std::string& token)
{
    const auto hash = tokenHash(token);
    return {tokenIdOf(hash), hash, "2024-05-01T12:00:00Z"};
}

TenantRecords sample()
{
    TenantRecord alice;
    alice.tenant.name = "alice";
    alice.tenant.maxRunning = 2;
    alice.tenant.maxQueued = 0;
    alice.tenant.caps = {50, 512};
    alice.tenant.callbackKey = std::string(64, 'a');
    alice.tokens = {tokenRecord("one"), tokenRecord("two")};
    TenantRecord root;
    root.tenant.name = "root_1";
    root.tenant.admin = true;
    root.tokens = {tokenRecord("three")};
    return {alice, root};
}

std::string refusal(std::string_view text)
{
    auto result = parseTokensFile(text, path);
    EXPECT_TRUE(std::holds_alternative<std::string>(result)) << text;
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
}

// A file of tenant alice with one token, whose member `field` is `value` (or, for a field it
// does not have, with that member added).
std::string tenantWith(const std::string& field, const std::string& value)
{
    const auto hash = tokenHash("one");
    std::vector<std::pair<std::string, std::string>> members{
        {"admin", "false"},
        {"max_running", "null"},
        {"max_queued", "null"},
        {"cpu_percent", "null"},
        {"memory_mb", "null"},
        {"tokens", R"([{"id": ")" + tokenIdOf(hash) + R"(", "sha256": ")" + hash +
                       R"(", "created": "2024-05-01T12:00:00Z"}])"}};
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&field](const auto& member) { return member.first == field; });
    if (it == members.end())
    {
        members.emplace_back(field, value);
    }
    else
    {
        it->second = value;
    }
    std::string tenant;
    for (const auto& [name, text] : members)
    {
        tenant += (tenant.empty() ? "{" : ", ") + ("\"" + name + "\": ") + text;
    }
    return R"({"version": 1, "tenants": {"alice": )" + tenant + "}}}";
}

TEST(TokensFile, RoundTrips)
{
    const auto records = sample();
    const auto text = tokensFileText(records);
    const auto parsed = parseTokensFile(text, path);
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(parsed)) << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<TenantRecords>(parsed), records);
    EXPECT_NE(text.find(R"("max_queued": 0)"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("cpu_percent": null)"), std::string::npos) << text;
    EXPECT_EQ(text.find("one"), std::string::npos) << "no token in clear";
}

TEST(TokensFile, AnEmptyDocumentHasNoTenants)
{
    const auto parsed = parseTokensFile(R"({"version": 1, "tenants": {}})", path);
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(parsed));
    EXPECT_TRUE(std::get<TenantRecords>(parsed).empty());
}

TEST(TokensFile, IsStrict)
{
    EXPECT_EQ(refusal("{"), "/etc/pyrunner/tokens: not valid JSON.");
    EXPECT_EQ(refusal("[]"), "/etc/pyrunner/tokens: the file must be a JSON object.");
    EXPECT_EQ(refusal(R"({"version": 2, "tenants": {}})"),
              "/etc/pyrunner/tokens: version must be 1, the only version this pyrunnerd reads.");
    EXPECT_EQ(refusal(R"({"version": 1})"),
              "/etc/pyrunner/tokens: the file lacks the key \"tenants\".");
    EXPECT_EQ(refusal(R"({"version": 1, "tenants": {}, "users": {}})"),
              "/etc/pyrunner/tokens: the file has the unknown key \"users\"; it takes tenants, "
              "version.");
    EXPECT_EQ(refusal(R"({"version": 1, "tenants": {}, "version": 1})"),
              "/etc/pyrunner/tokens: the key \"version\" appears twice in one object.");
    auto badName = tenantWith("admin", "false");
    EXPECT_TRUE(std::holds_alternative<TenantRecords>(parseTokensFile(badName, path)));
    badName.replace(badName.find("alice"), 5, "Alice");
    EXPECT_EQ(refusal(badName).rfind("/etc/pyrunner/tokens: \"Alice\" is not a tenant name", 0),
              0U);
    auto dash = tenantWith("admin", "false");
    dash.replace(dash.find("alice"), 5, "a-b");
    EXPECT_NE(refusal(dash).find("\"a-b\" is not a tenant name"), std::string::npos);
    EXPECT_EQ(refusal(tenantWith("admin", "1")),
              "/etc/pyrunner/tokens: tenant alice's admin must be true or false.");
    EXPECT_EQ(refusal(tenantWith("max_running", "0")),
              "/etc/pyrunner/tokens: tenant alice's max_running must be null or an integer from "
              "1 to 1024.");
    EXPECT_NE(refusal(tenantWith("max_queued", "-1")).find("max_queued must be null"),
              std::string::npos);
    EXPECT_NE(refusal(tenantWith("max_queued", "1.5")).find("max_queued must be null"),
              std::string::npos);
    EXPECT_NE(refusal(tenantWith("cpu_percent", "102401")).find("cpu_percent must be null"),
              std::string::npos);
    EXPECT_NE(refusal(tenantWith("cpu_percent", "\"50\"")).find("cpu_percent must be null"),
              std::string::npos);
    EXPECT_EQ(refusal(tenantWith("memory_mb", "8")),
              "/etc/pyrunner/tokens: tenant alice's memory_mb must be null or at least 16.");
    EXPECT_EQ(refusal(tenantWith("tokens", "{}")),
              "/etc/pyrunner/tokens: tenant alice's tokens must be a JSON array.");
    EXPECT_NE(refusal(tenantWith("quota", "3")).find("tenant alice has the unknown key \"quota\""),
              std::string::npos);
}

TEST(TokensFile, CallbackKeyIsOptionalAndChecked)
{
    const auto without = parseTokensFile(tenantWith("admin", "false"), path);
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(without));
    EXPECT_EQ(std::get<TenantRecords>(without).at(0).tenant.callbackKey, "");
    const auto key = "\"" + std::string(64, '0') + "\"";
    const auto with = parseTokensFile(tenantWith("callback_key", key), path);
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(with));
    EXPECT_EQ(std::get<TenantRecords>(with).at(0).tenant.callbackKey, std::string(64, '0'));
    const std::string fault =
        "/etc/pyrunner/tokens: tenant alice's callback_key must be 64 lowercase hex digits.";
    EXPECT_EQ(refusal(tenantWith("callback_key", "\"" + std::string(64, 'A') + "\"")), fault);
    EXPECT_EQ(refusal(tenantWith("callback_key", "\"" + std::string(63, '0') + "\"")), fault);
    EXPECT_EQ(refusal(tenantWith("callback_key", "null")), fault);
}

TEST(TokensFile, TokensAreChecked)
{
    const auto hash = tokenHash("one");
    const auto id = tokenIdOf(hash);
    auto with = [](const std::string& token) { return tenantWith("tokens", "[" + token + "]"); };
    auto token = [](const std::string& i, const std::string& h, const std::string& created) {
        return R"({"id": ")" + i + R"(", "sha256": ")" + h + R"(", "created": ")" + created +
               R"("})";
    };
    EXPECT_EQ(refusal(with(token(id, hash, "2024-05-01 12:00:00"))),
              "/etc/pyrunner/tokens: tenant alice's token 1's created must be a UTC time such as "
              "\"2024-05-01T12:00:00Z\".");
    EXPECT_EQ(refusal(with(token("000000000000", hash, "2024-05-01T12:00:00Z"))),
              "/etc/pyrunner/tokens: tenant alice's token 1's id must be the first 12 hex digits "
              "of its sha256.");
    std::string upper = hash;
    upper[0] = 'A';
    EXPECT_NE(refusal(with(token(tokenIdOf(upper), upper, "2024-05-01T12:00:00Z")))
                  .find("sha256 must be 64 lowercase hex digits"),
              std::string::npos);
    EXPECT_NE(refusal(with(token(id, hash.substr(1), "2024-05-01T12:00:00Z")))
                  .find("sha256 must be 64 lowercase hex digits"),
              std::string::npos);
    EXPECT_NE(refusal(with(R"({"id": ")" + id + R"(", "sha256": ")" + hash + R"("})"))
                  .find("token 1 lacks the key \"created\""),
              std::string::npos);
    const auto twice = token(id, hash, "2024-05-01T12:00:00Z");
    EXPECT_EQ(refusal(with(twice + ", " + twice)),
              "/etc/pyrunner/tokens: the token " + id + " appears twice.");
}

TEST(TokensFile, AHashHeldByTwoTenantsIsRefused)
{
    auto records = sample();
    records[1].tokens.push_back(records[0].tokens[0]);
    EXPECT_EQ(refusal(tokensFileText(records)),
              "/etc/pyrunner/tokens: the token " + records[0].tokens[0].id + " appears twice.");
}

TEST(ReadTokensFile, AMissingFileHasNoTenantsAndASymlinkIsRefused)
{
    const test::TempDir dir("pyrunner-tokens");
    const auto file = (dir.path() / "tokens").string();
    const auto missing = readTokensFile(file);
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(missing));
    EXPECT_TRUE(std::get<TenantRecords>(missing).empty());

    std::ofstream(dir.path() / "real") << tokensFileText(sample());
    std::filesystem::create_symlink(dir.path() / "real", file);
    const auto linked = readTokensFile(file);
    ASSERT_TRUE(std::holds_alternative<std::string>(linked));
    EXPECT_EQ(std::get<std::string>(linked),
              file + ": is a symbolic link; pyrunner reads only a file of its own there.");

    const auto real = readTokensFile((dir.path() / "real").string());
    ASSERT_TRUE(std::holds_alternative<TenantRecords>(real));
    EXPECT_EQ(std::get<TenantRecords>(real), sample());

    const auto directory = readTokensFile(dir.path().string());
    ASSERT_TRUE(std::holds_alternative<std::string>(directory));
    EXPECT_EQ(std::get<std::string>(directory), dir.path().string() + ": is not a regular file.");
}

TEST(ChangeTokensFile, ReplacesASymlinkRatherThanWritingThroughIt)
{
    const test::TempDir dir("pyrunner-tokens");
    const auto file = dir.path() / "tokens";
    std::ofstream(dir.path() / "elsewhere") << "keep";
    std::filesystem::create_symlink(dir.path() / "elsewhere", file);
    // A symbolic link cannot be read, so nothing is changed.
    const auto fault = changeTokensFile(
        file.string(), [](TenantRecords&) { return std::optional<std::string>{}; });
    ASSERT_TRUE(fault);
    EXPECT_NE(fault->find("Nothing was changed"), std::string::npos);
    std::ifstream elsewhere(dir.path() / "elsewhere");
    std::string kept;
    elsewhere >> kept;
    EXPECT_EQ(kept, "keep");
}

TEST(ChangeTokensFile, ARefusedChangeWritesNothing)
{
    const test::TempDir dir("pyrunner-tokens");
    const auto file = (dir.path() / "tokens").string();
    const auto fault = changeTokensFile(
        file, [](TenantRecords&) { return std::optional<std::string>("no, thank you."); });
    EXPECT_EQ(fault, "no, thank you.");
    EXPECT_FALSE(std::filesystem::exists(file));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ChangeTokensFile, ACorruptFileIsLeftAlone)
{
    const test::TempDir dir("pyrunner-tokens");
    const auto file = (dir.path() / "tokens").string();
    std::ofstream(file) << "{ not json";
    bool called = false;
    const auto fault = changeTokensFile(file, [&called](TenantRecords&) {
        called = true;
        return std::optional<std::string>{};
    });
    EXPECT_EQ(fault, file + ": not valid JSON. Nothing was changed: fix or remove the file first.");
    EXPECT_FALSE(called);
}

TEST(ChangeTokensFile, AMissingDirectoryIsNamed)
{
    const auto fault = changeTokensFile("/nonexistent/pyrunner/tokens", [](TenantRecords&) {
        return std::optional<std::string>{};
    });
    EXPECT_EQ(fault,
              "the directory /nonexistent/pyrunner cannot be opened: No such file or directory.");
}

} // namespace
} // namespace pyrunner::auth
