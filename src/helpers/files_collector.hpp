#pragma once

#include "common/fd.hpp"
#include "common/files_manifest.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace pyrunner::helpers
{

// The run's files_count and files_bytes, and how long collection may take.
struct CollectLimits
{
    // At most this many files copied, and at most this many skipped entries listed.
    std::uint32_t filesCount = 0;
    std::uint64_t filesBytes = 0;
    std::chrono::seconds time{0};
};

// True when an earlier attempt (a restarted unit) wrote the manifest already: the run's
// out/ is not the one it collected, and its copies stand.
bool alreadyCollected(int runDirFd);

// The run directory's RunFiles::filesDirName, new or emptied of what an attempt that died
// before its manifest left, with the run directory's setgid bit so that the front's group
// owns the copies. Throws std::system_error.
core::UniqueFd prepareFilesDir(int runDirFd);

// Copies what the run left in `outName` under `outParentFd` into `filesDirFd` as 0, 1, ...
// and lists it. Nothing under the out directory is opened with root's rights: a child
// process walks it as the owner of `outParentFd` (the run's user, who made the directory)
// and sends what it finds over a pipe; this process checks every record and writes the
// copies. An owner of uid or gid 0 is not a run's: nothing is collected. Collection stops,
// truncated, at the limits, or as soon as `stopFd` (-1: none) becomes readable.
core::FilesManifest collectFiles(int outParentFd, const std::string& outName, int filesDirFd,
                                 const CollectLimits& limits, int stopFd = -1);

// Writes the manifest as RunFiles::filesManifestName, whole or not at all; false with errno
// set when it cannot.
bool writeManifest(int runDirFd, const core::FilesManifest& manifest);

} // namespace pyrunner::helpers
