#include "front/store/files_in_store.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

const std::string runId = "0123456789abcdef0123456789abcdef";

std::string contents(int fd)
{
    std::string data(64, '\0');
    const auto n = ::pread(fd, data.data(), data.size(), 0);
    data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return data;
}

TEST(FilesInStore, KeepsARunsFilesPrivatelyUntilTheyAreRemoved)
{
    const test::TempDir made{"files-in-store"};
    const auto directory = made.path() / "files-in";
    const FilesInStore store(directory.string());
    EXPECT_EQ(std::filesystem::status(directory).permissions(), std::filesystem::perms::owner_all);
    EXPECT_EQ(store.open(runId), nullptr);

    store.put(runId, "the tar");
    const auto opened = store.open(runId);
    ASSERT_NE(opened, nullptr);
    EXPECT_EQ(contents(opened->get()), "the tar");
    EXPECT_EQ(std::filesystem::status(directory / runId).permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

    // What an earlier server left under the same id is replaced, not appended to.
    store.put(runId, "again");
    EXPECT_EQ(contents(store.open(runId)->get()), "again");
    store.remove(runId);
    EXPECT_EQ(store.open(runId), nullptr);
    // The descriptor handed out still reads what was there.
    EXPECT_EQ(contents(opened->get()), "the tar");
}

} // namespace
} // namespace pyrunner::core
