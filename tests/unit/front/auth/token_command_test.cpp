#include "common/callback_key.hpp"
#include "front/auth/token.hpp"
#include "front/auth/token_command.hpp"
#include "front/auth/tokens_file.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace pyrunner::auth
{
namespace
{

struct Run
{
    int status;
    std::string out;
    std::string err;
};

struct Fixture
{
    test::TempDir dir{"pyrunner-token-command"};
    std::string path = (dir.path() / "tokens").string();

    // `pyrunnerd token --tokens PATH ARGS...` as the command line parses it.
    Run run(std::vector<std::string> args) const
    {
        CLI::App app;
        TokenCommandLine line;
        addTokenCommand(app, line);
        args.insert(args.begin(), {"token", "--tokens", path});
        std::reverse(args.begin(), args.end());
        app.parse(args);
        std::ostringstream out;
        std::ostringstream err;
        const int status = runTokenCommand(line, *line.tokensFile, out, err);
        return {status, out.str(), err.str()};
    }

    TenantRecords records() const
    {
        auto read = readTokensFile(path);
        EXPECT_TRUE(std::holds_alternative<TenantRecords>(read));
        return std::holds_alternative<TenantRecords>(read) ? std::get<TenantRecords>(read)
                                                           : TenantRecords{};
    }
};

TEST(ParseCapSetting, IsNoneOrANumberWithinBounds)
{
    EXPECT_EQ(parseCapSetting("none", {1, 10}), CapSetting{});
    EXPECT_EQ(parseCapSetting("1", {1, 10}), CapSetting{1});
    EXPECT_EQ(parseCapSetting("10", {1, 10}), CapSetting{10});
    EXPECT_FALSE(parseCapSetting("0", {1, 10}));
    EXPECT_FALSE(parseCapSetting("11", {1, 10}));
    EXPECT_FALSE(parseCapSetting("", {1, 10}));
    EXPECT_FALSE(parseCapSetting("-1", {0, 10}));
    EXPECT_FALSE(parseCapSetting("None", {0, 10}));
}

TEST(TokenCommand, CreatePrintsTheTokenAloneAndStoresItsHash)
{
    Fixture f;
    const auto created = f.run({"create", "alice", "--max-running", "2", "--max-queued", "0",
                                "--cpu-percent", "50", "--memory-mb", "512"});
    ASSERT_EQ(created.status, 0) << created.err;
    ASSERT_EQ(created.out.size(), tokenLength + 1);
    EXPECT_EQ(created.out.back(), '\n');
    const auto token = created.out.substr(0, tokenLength);
    EXPECT_TRUE(isTokenShape(token));
    const auto id = tokenIdOf(tokenHash(token));
    const auto records = f.records();
    ASSERT_EQ(records.size(), 1U);
    const auto& tenant = records[0].tenant;
    EXPECT_TRUE(core::isCallbackKey(tenant.callbackKey));
    EXPECT_EQ(created.err, "pyrunnerd: tenant alice has a new token, id " + id +
                               " (admin no, max_running 2, max_queued 0, cpu_percent 50, "
                               "memory_mb 512). It is shown once, on standard output; it is "
                               "stored hashed, in " +
                               f.path +
                               ".\npyrunnerd: callback key of tenant alice (it signs "
                               "X-Pyrunner-Signature; `pyrunnerd token key alice` prints it "
                               "alone): " +
                               tenant.callbackKey + "\n");
    EXPECT_EQ(tenant.name, "alice");
    EXPECT_FALSE(tenant.admin);
    EXPECT_EQ(tenant.maxRunning, 2U);
    EXPECT_EQ(tenant.maxQueued, 0U);
    EXPECT_EQ(tenant.caps, (core::TenantCaps{50, 512}));
    ASSERT_EQ(records[0].tokens.size(), 1U);
    EXPECT_EQ(records[0].tokens[0].sha256, tokenHash(token));
    EXPECT_EQ(records[0].tokens[0].id, id);
    EXPECT_EQ(records[0].tokens[0].created.size(), 20U);
    EXPECT_TRUE(std::filesystem::is_regular_file(f.path));
}

TEST(TokenCommand, KeyPrintsTheCallbackKeyAloneAndKeepsItAcrossCreates)
{
    Fixture f;
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    const auto key = f.run({"key", "alice"});
    ASSERT_EQ(key.status, 0) << key.err;
    ASSERT_EQ(key.out.size(), core::callbackKeyLength + 1);
    EXPECT_TRUE(core::isCallbackKey(key.out.substr(0, core::callbackKeyLength)));
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    EXPECT_EQ(f.run({"key", "alice"}).out, key.out);
    ASSERT_EQ(f.run({"create", "bob"}).status, 0);
    EXPECT_NE(f.run({"key", "bob"}).out, key.out);
    const auto unknown = f.run({"key", "carol"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(unknown.out, "");
    EXPECT_EQ(unknown.err, "pyrunnerd: " + f.path + " holds no tenant carol.\n");
}

TEST(TokenCommand, ATenantFromAnOlderFileGetsAKeyAtItsNextCreate)
{
    Fixture f;
    {
        std::ofstream file(f.path);
        file << R"({"version": 1, "tenants": {"alice": {"admin": false, "max_running": null,
            "max_queued": null, "cpu_percent": null, "memory_mb": null, "tokens": []}}})";
    }
    const auto before = f.run({"key", "alice"});
    EXPECT_EQ(before.status, 1);
    EXPECT_EQ(before.err, "pyrunnerd: tenant alice has no callback key yet; `pyrunnerd token "
                          "create alice` makes one (and a token).\n");
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    EXPECT_EQ(f.run({"key", "alice"}).status, 0);
    EXPECT_TRUE(core::isCallbackKey(f.records().at(0).tenant.callbackKey));
}

TEST(TokenCommand, TheFileIsMode0640AndOfItsDirectorysGroup)
{
    Fixture f;
    // As root, a group the file could not have by chance.
    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chown(f.dir.path().c_str(), 0, 4242), 0);
    }
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    struct stat directory
    {
    };
    struct stat file
    {
    };
    ASSERT_EQ(::stat(f.dir.path().c_str(), &directory), 0);
    ASSERT_EQ(::lstat(f.path.c_str(), &file), 0);
    EXPECT_EQ(file.st_mode & 07777U, 0640U);
    EXPECT_EQ(file.st_gid, directory.st_gid);
    EXPECT_EQ(file.st_uid, directory.st_uid);
    // Only the file itself is left: no temporary beside it.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(f.dir.path()),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(TokenCommand, ASecondCreateAddsATokenAndReplacesOnlyTheSettingsGiven)
{
    Fixture f;
    const auto first = f.run({"create", "alice", "--max-running", "2", "--cpu-percent", "50"});
    ASSERT_EQ(first.status, 0);
    const auto second = f.run({"create", "alice", "--admin", "--cpu-percent", "none"});
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_NE(first.out, second.out);
    const auto firstId = tokenIdOf(tokenHash(first.out.substr(0, tokenLength)));
    EXPECT_NE(second.err.find("tenant alice has one more token"), std::string::npos);
    EXPECT_NE(second.err.find("(admin yes, max_running 2, max_queued none, cpu_percent none, "
                              "memory_mb none)"),
              std::string::npos)
        << second.err;
    EXPECT_NE(second.err.find(
                  "pyrunnerd token revoke alice --id ID (alice's other tokens: " + firstId + ")."),
              std::string::npos)
        << second.err;
    const auto records = f.records();
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].tokens.size(), 2U);
    EXPECT_TRUE(records[0].tenant.admin);
    EXPECT_EQ(records[0].tenant.maxRunning, 2U);
    EXPECT_EQ(records[0].tenant.caps.cpuPercent, 0U);
    ASSERT_EQ(f.run({"create", "alice", "--no-admin"}).status, 0);
    EXPECT_FALSE(f.records()[0].tenant.admin);
}

TEST(TokenCommand, RevokeByIdLeavesTheOtherTokens)
{
    Fixture f;
    const auto first = f.run({"create", "alice", "--max-queued", "3"}).out.substr(0, tokenLength);
    const auto second = f.run({"create", "alice"}).out.substr(0, tokenLength);
    const auto firstId = tokenIdOf(tokenHash(first));
    const auto secondId = tokenIdOf(tokenHash(second));
    const auto revoked = f.run({"revoke", "alice", "--id", firstId});
    ASSERT_EQ(revoked.status, 0) << revoked.err;
    EXPECT_EQ(revoked.out, "pyrunnerd: revoked token " + firstId + " of tenant alice; 1 left.\n");
    ASSERT_EQ(f.records().size(), 1U);
    ASSERT_EQ(f.records()[0].tokens.size(), 1U);
    EXPECT_EQ(f.records()[0].tokens[0].id, secondId);

    const auto again = f.run({"revoke", "alice", "--id", firstId});
    EXPECT_EQ(again.status, 1);
    EXPECT_EQ(again.err, "pyrunnerd: tenant alice has no token " + firstId +
                             "; its tokens: " + secondId + ".\n");

    const auto last = f.run({"revoke", "alice", "--id", secondId});
    ASSERT_EQ(last.status, 0);
    EXPECT_EQ(last.out, "pyrunnerd: revoked token " + secondId +
                            " of tenant alice; it was the last, so the tenant and its settings "
                            "are gone too.\n");
    EXPECT_TRUE(f.records().empty());
}

TEST(TokenCommand, RevokeWithoutIdRemovesTheTenant)
{
    Fixture f;
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    ASSERT_EQ(f.run({"create", "alice"}).status, 0);
    ASSERT_EQ(f.run({"create", "bob"}).status, 0);
    const auto revoked = f.run({"revoke", "alice"});
    ASSERT_EQ(revoked.status, 0);
    EXPECT_EQ(revoked.out, "pyrunnerd: revoked tenant alice and its 2 tokens.\n");
    ASSERT_EQ(f.records().size(), 1U);
    EXPECT_EQ(f.records()[0].tenant.name, "bob");
    const auto unknown = f.run({"revoke", "alice"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(unknown.err, "pyrunnerd: " + f.path + " holds no tenant alice.\n");
    const auto badId = f.run({"revoke", "bob", "--id", "xyz"});
    EXPECT_EQ(badId.status, 1);
    EXPECT_EQ(badId.err, "pyrunnerd: --id takes a token's id, 12 hex digits as `pyrunnerd token "
                         "list` shows it, not \"xyz\".\n");
}

TEST(TokenCommand, RefusesNamesThatAreNoTenantNames)
{
    Fixture f;
    for (const auto& name :
         std::vector<std::string>{"Alice", "a-b", "1abc", "_x", "", std::string(33, 'a')})
    {
        const auto created = f.run({"create", name});
        EXPECT_EQ(created.status, 1) << name;
        EXPECT_EQ(created.out, "");
        EXPECT_NE(created.err.find("\"" + name +
                                   "\" is not a tenant name; a tenant's name is "
                                   "lowercase letters, digits and '_'"),
                  std::string::npos)
            << created.err;
        EXPECT_NE(created.err.find("systemd reads each '-' there as one more level of slices"),
                  std::string::npos);
        EXPECT_EQ(f.run({"revoke", name}).status, 1);
    }
    EXPECT_FALSE(std::filesystem::exists(f.path));
    EXPECT_EQ(f.run({"create", std::string(32, 'a')}).status, 0);
}

TEST(TokenCommand, OptionsOutOfBoundsAreRefusedByTheCommandLine)
{
    Fixture f;
    EXPECT_THROW(f.run({"create", "alice", "--max-running", "0"}), CLI::ValidationError);
    EXPECT_THROW(f.run({"create", "alice", "--memory-mb", "8"}), CLI::ValidationError);
    EXPECT_THROW(f.run({"create", "alice", "--admin", "--no-admin"}), CLI::ExcludesError);
}

TEST(TokenCommand, ListShowsEveryTenantAndToken)
{
    Fixture f;
    EXPECT_EQ(f.run({"list"}).out,
              "NAME  ADMIN  MAX_RUNNING  MAX_QUEUED  CPU_PERCENT  MEMORY_MB  TOKEN  CREATED\n");
    const auto a1 = f.run({"create", "alice", "--max-running", "2", "--memory-mb", "512"}).out;
    const auto a2 = f.run({"create", "alice"}).out;
    const auto r = f.run({"create", "root", "--admin"}).out;
    auto idOf = [](const std::string& out) {
        return tokenIdOf(tokenHash(out.substr(0, tokenLength)));
    };
    const auto records = f.records();
    const auto listed = f.run({"list"});
    ASSERT_EQ(listed.status, 0);
    const auto created = [&records](std::size_t tenant, std::size_t token) {
        return records.at(tenant).tokens.at(token).created;
    };
    EXPECT_EQ(listed.out,
              "NAME   ADMIN  MAX_RUNNING  MAX_QUEUED  CPU_PERCENT  MEMORY_MB  TOKEN         "
              "CREATED\n"
              "alice  no     2            -           -            512        " +
                  idOf(a1) + "  " + created(0, 0) +
                  "\n"
                  "alice  no     2            -           -            512        " +
                  idOf(a2) + "  " + created(0, 1) +
                  "\n"
                  "root   yes    -            -           -            -          " +
                  idOf(r) + "  " + created(1, 0) + "\n");
}

TEST(TokenCommand, AFileItCannotReadIsLeftAlone)
{
    Fixture f;
    std::ofstream(f.path) << "{}";
    const auto created = f.run({"create", "alice"});
    EXPECT_EQ(created.status, 1);
    EXPECT_EQ(created.out, "");
    EXPECT_EQ(created.err, "pyrunnerd: " + f.path +
                               ": the file lacks the key \"tenants\". Nothing was changed: fix or "
                               "remove the file first.\n");
    EXPECT_EQ(f.run({"list"}).status, 1);
}

} // namespace
} // namespace pyrunner::auth
