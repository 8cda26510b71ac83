#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::core
{

// What the collector took from a run's out/ directory (src/helpers/collect_files.cpp), as it
// records it beside the copies in the run's directory (RunFiles::filesManifestName). The
// copies are named by their index alone (RunFiles::filesDirName/<index>): no name a run chose
// is ever a path on the host.
struct CollectedFile
{
    // Relative to out/; filePathProblem() finds nothing wrong with it.
    std::string path;
    std::uint64_t size = 0;
    std::uint32_t index = 0;

    bool operator==(const CollectedFile&) const = default;
};

struct SkippedFile
{
    // displayPath() of what the run left.
    std::string path;
    // "symlink", "fifo", "socket", "device", "invalid_name" or "unreadable".
    std::string reason;

    bool operator==(const SkippedFile&) const = default;
};

struct FilesManifest
{
    std::vector<CollectedFile> files;
    std::vector<SkippedFile> skipped;
    // Collection stopped at the run's files_count or files_bytes, or at its time bound.
    bool truncated = false;

    bool operator==(const FilesManifest&) const = default;
};

// A line format (paths have no control characters, displayed ones neither), so that the
// collector, which runs as root for every run, needs no parser library.
std::string formatManifest(const FilesManifest& manifest);
// Nothing unless `text` is a whole manifest whose every path and figure is valid.
std::optional<FilesManifest> parseManifest(std::string_view text);

} // namespace pyrunner::core
