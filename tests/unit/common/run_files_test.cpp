#include "common/run_files.hpp"
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

} // namespace
} // namespace pyrunner::core
