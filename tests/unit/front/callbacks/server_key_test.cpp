#include "common/callback_key.hpp"
#include "front/callbacks/server_key.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace pyrunner::core
{
namespace
{

namespace fs = std::filesystem;

TEST(ServerCallbackKey, IsMadeOnceMode0600AndReadBackAfter)
{
    const test::TempDir dir("pyrunner-server-key");
    const auto file = dir.path() / "callback.key";
    const auto key = serverCallbackKey(file);
    EXPECT_TRUE(isCallbackKey(key));
    struct stat status
    {
    };
    ASSERT_EQ(::lstat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777U, 0600U);
    EXPECT_EQ(serverCallbackKey(file), key);
    // Nothing but the key is left in the directory.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ServerCallbackKey, ASymbolicLinkOrAnotherTextIsRefused)
{
    const test::TempDir dir("pyrunner-server-key");
    const auto target = dir.path() / "elsewhere";
    std::ofstream(target) << std::string(64, 'a') << "\n";
    fs::create_symlink(target, dir.path() / "link.key");
    EXPECT_THROW(serverCallbackKey(dir.path() / "link.key"), std::runtime_error);
    std::ofstream(dir.path() / "short.key") << "abc\n";
    EXPECT_THROW(serverCallbackKey(dir.path() / "short.key"), std::runtime_error);
    EXPECT_EQ(serverCallbackKey(target), std::string(64, 'a'));
}

} // namespace
} // namespace pyrunner::core
