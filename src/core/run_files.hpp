#pragma once

#include "core/cgroup_stats.hpp"
#include "core/fd.hpp"

#include <cstdint>
#include <string>

namespace pyrunner::core
{

// The server's per-run directories under <state>/runs. Every access goes through a
// directory fd opened once and O_NOFOLLOW, so nothing planted in a path can redirect it.
class RunFiles
{
  public:
    static constexpr const char* stdoutName = "stdout";
    static constexpr const char* stderrName = "stderr";
    static constexpr const char* cgroupStatsName = "cgroup-stats";

    // Creates <stateDir>/runs (mode 0700) if needed; throws std::system_error on failure.
    explicit RunFiles(const std::string& stateDir);

    // Creates the run's own directory (mode 0700) and returns its absolute path.
    std::string create(const std::string& runId) const;
    void remove(const std::string& runId) const;

    struct Read
    {
        std::string data;
        // The file held more than `limit` bytes.
        bool overLimit = false;
        std::uint64_t size = 0;
    };
    // At most `limit` bytes of a file of the run; an absent file reads as empty.
    Read read(const std::string& runId, const char* name, std::uint64_t limit) const;
    std::uint64_t size(const std::string& runId, const char* name) const;
    CgroupStats cgroupStats(const std::string& runId) const;

  private:
    UniqueFd openRunDir(const std::string& runId) const;

    std::string runsPath_;
    UniqueFd runsDir_;
};

} // namespace pyrunner::core
