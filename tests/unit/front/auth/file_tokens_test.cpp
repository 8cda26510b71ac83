#include "front/auth/file_tokens.hpp"
#include "front/auth/token_command.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace pyrunner::auth
{
namespace
{

struct Files
{
    test::TempDir dir{"pyrunner-tokens"};
    std::string path = (dir.path() / "tokens").string();
    std::vector<std::string> faults;
    FileTokens tokens{path, [this](const std::string& fault) { faults.push_back(fault); }};

    std::string create(const std::string& name)
    {
        std::ostringstream out;
        std::ostringstream err;
        EXPECT_EQ(createToken(path, name, {}, out, err), 0) << err.str();
        auto token = out.str();
        token.pop_back();
        return token;
    }

    // Replaces the file as an editor would: another file renamed over it.
    void write(const std::string& text) const
    {
        const auto next = dir.path() / "next";
        std::ofstream(next) << text;
        std::filesystem::rename(next, path);
    }
};

TEST(FileTokens, AMissingFileLetsNobodyIn)
{
    Files files;
    const auto table = files.tokens.current();
    ASSERT_TRUE(table);
    EXPECT_TRUE(table->records().empty());
    EXPECT_TRUE(files.faults.empty());
}

TEST(FileTokens, SeesEachChangeAtTheNextCall)
{
    Files files;
    EXPECT_TRUE(files.tokens.current()->records().empty());
    const auto alice = files.create("alice");
    EXPECT_EQ(files.tokens.current()->find(alice)->name, "alice");
    const auto bob = files.create("bob");
    EXPECT_EQ(files.tokens.current()->find(bob)->name, "bob");
    std::ostringstream out;
    std::ostringstream err;
    ASSERT_EQ(revokeTokens(files.path, "alice", std::nullopt, out, err), 0) << err.str();
    EXPECT_FALSE(files.tokens.current()->find(alice));
    EXPECT_TRUE(files.tokens.current()->find(bob));
    std::filesystem::remove(files.path);
    EXPECT_FALSE(files.tokens.current()->find(bob));
    EXPECT_TRUE(files.faults.empty());
}

TEST(FileTokens, AnUnchangedFileIsNotReadAgain)
{
    Files files;
    files.create("alice");
    const auto first = files.tokens.current();
    EXPECT_EQ(files.tokens.current(), first);
    files.create("bob");
    EXPECT_NE(files.tokens.current(), first);
}

TEST(FileTokens, ABrokenFileKeepsTheLastGoodTableAndIsReportedOnce)
{
    Files files;
    const auto alice = files.create("alice");
    ASSERT_TRUE(files.tokens.current()->find(alice));
    files.write("{ not json");
    EXPECT_TRUE(files.tokens.current()->find(alice));
    EXPECT_TRUE(files.tokens.current()->find(alice));
    ASSERT_EQ(files.faults.size(), 1U);
    EXPECT_EQ(files.faults[0],
              files.path + ": not valid JSON. The tokens read before it stay in force.");
    files.write(R"({"version": 1, "tenants": {"Alice": {}}})");
    EXPECT_TRUE(files.tokens.current()->find(alice));
    EXPECT_EQ(files.faults.size(), 2U);
    // Fixed, the file counts again.
    files.write(R"({"version": 1, "tenants": {}})");
    EXPECT_FALSE(files.tokens.current()->find(alice));
    EXPECT_EQ(files.faults.size(), 2U);
}

TEST(FileTokens, ABrokenFirstReadLetsNobodyIn)
{
    Files files;
    files.write("[]");
    EXPECT_TRUE(files.tokens.current()->records().empty());
    EXPECT_EQ(files.faults.size(), 1U);
}

TEST(FileTokens, ASymlinkInTheFilesPlaceIsRefused)
{
    Files files;
    const auto alice = files.create("alice");
    ASSERT_TRUE(files.tokens.current()->find(alice));
    const auto real = files.dir.path() / "real";
    std::filesystem::rename(files.path, real);
    std::filesystem::create_symlink(real, files.path);
    EXPECT_TRUE(files.tokens.current()->find(alice)) << "the last good table";
    ASSERT_EQ(files.faults.size(), 1U);
    EXPECT_NE(files.faults[0].find("is a symbolic link"), std::string::npos);
}

TEST(FileTokens, ServesManyThreads)
{
    Files files;
    const auto alice = files.create("alice");
    std::vector<std::thread> threads;
    std::atomic<int> found{0};
    for (int t = 0; t < 4; ++t)
    {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i)
            {
                found += files.tokens.current()->find(alice) ? 1 : 0;
            }
        });
    }
    for (int i = 0; i < 20; ++i)
    {
        files.create("bob");
    }
    for (auto& thread : threads)
    {
        thread.join();
    }
    EXPECT_EQ(found, 800);
}

} // namespace
} // namespace pyrunner::auth
