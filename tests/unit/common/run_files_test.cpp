#include "common/run_files.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
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
    StateDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "run-files-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr)
        {
            throw std::runtime_error("mkdtemp failed");
        }
        dir = pattern;
        RunFiles::createLayout(dir, ::getuid(), ::getgid());
    }
    ~StateDir() override { std::filesystem::remove_all(dir); }
    StateDir(const StateDir&) = delete;
    StateDir& operator=(const StateDir&) = delete;
    StateDir(StateDir&&) = delete;
    StateDir& operator=(StateDir&&) = delete;

    std::string dir;
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
