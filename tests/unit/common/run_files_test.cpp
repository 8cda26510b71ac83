#include "common/files_manifest.hpp"
#include "common/run_files.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

const std::string runId = "0123456789abcdef0123456789abcdef";

// A state directory of its own, laid out as the broker lays out its own.
class StateDir : public ::testing::Test
{
  protected:
    StateDir() { RunFiles::createLayout(dir, ::getuid(), ::getgid()); }

    const test::TempDir made{"run-files"};
    const std::string dir = made.path();
};

TEST_F(StateDir, KeepsTheOutputCapForABrokerThatFollowsTheRunAgain)
{
    const RunFiles files(dir);
    files.create(runId, ::getgid());
    EXPECT_EQ(files.outputCap(runId), std::nullopt);
    files.writeOutputCap(runId, 1048576);
    EXPECT_EQ(files.outputCap(runId), 1048576U);
    const auto record = std::filesystem::path(files.path(runId)) / RunFiles::outputCapName;
    EXPECT_EQ(std::filesystem::status(record).permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(StateDir, TakesNoOutputCapFromARecordItCouldNotHaveWritten)
{
    const RunFiles files(dir);
    files.create(runId, ::getgid());
    files.writePrivate(runId, RunFiles::outputCapName, "1024 ");
    EXPECT_EQ(files.outputCap(runId), std::nullopt);
    // Removed with the run, so that the id can be started anew.
    files.remove(runId);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "runs" / runId));
    files.create(runId, ::getgid());
    files.writePrivate(runId, RunFiles::outputCapName, "184467440737095516150");
    EXPECT_EQ(files.outputCap(runId), std::nullopt);
}

TEST_F(StateDir, CopiesTheFilesARunBringsAndNothingForNone)
{
    const RunFiles files(dir);
    files.create(runId, ::getgid());
    const test::TempDir source{"files-in"};
    const auto empty = source.path() / "empty";
    std::ofstream(empty).flush();
    const UniqueFd none(::open(empty.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_FALSE(files.copyFilesIn(runId, none.get(), 100));
    const auto copy = std::filesystem::path(files.path(runId)) / RunFiles::filesInName;
    EXPECT_FALSE(std::filesystem::exists(copy));

    const auto tar = source.path() / "files.tar";
    std::ofstream(tar) << std::string(300, 't');
    const UniqueFd some(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_THROW(files.copyFilesIn(runId, some.get(), 299), std::system_error);
    EXPECT_FALSE(std::filesystem::exists(copy));
    EXPECT_TRUE(files.copyFilesIn(runId, some.get(), 300));
    EXPECT_EQ(files.read(runId, RunFiles::filesInName, 1000).data, std::string(300, 't'));
    // Readable by the run's user, an "other" to the file, as the code is.
    EXPECT_EQ(std::filesystem::status(copy).permissions(), std::filesystem::perms::owner_read |
                                                               std::filesystem::perms::owner_write |
                                                               std::filesystem::perms::others_read);
}

TEST_F(StateDir, ReadsTheCollectorsManifestAndCopiesAndRemovesThemWithTheRun)
{
    const RunFiles files(dir);
    files.create(runId, ::getgid());
    EXPECT_EQ(files.filesManifest(runId), std::nullopt);
    const auto runDir = std::filesystem::path(files.path(runId));
    std::filesystem::create_directory(runDir / RunFiles::filesDirName);
    std::ofstream(runDir / RunFiles::filesDirName / "0") << "report";
    FilesManifest manifest;
    manifest.files = {{"report.html", 6, 0}};
    manifest.skipped = {{"link", "symlink"}};
    std::ofstream(runDir / RunFiles::filesManifestName) << formatManifest(manifest);

    EXPECT_EQ(files.filesManifest(runId), manifest);
    const auto copy = files.openCollected(runId, 0);
    ASSERT_TRUE(copy);
    EXPECT_FALSE(files.openCollected(runId, 1));
    files.remove(runId);
    EXPECT_FALSE(std::filesystem::exists(runDir));
}

TEST_F(StateDir, TakesNoManifestThatIsNotWhole)
{
    const RunFiles files(dir);
    files.create(runId, ::getgid());
    const auto runDir = std::filesystem::path(files.path(runId));
    std::ofstream(runDir / RunFiles::filesManifestName)
        << "pyrunner-files 1\ntruncated 0\nfile 0 6 ";
    EXPECT_EQ(files.filesManifest(runId), std::nullopt);
}

} // namespace
} // namespace pyrunner::core
