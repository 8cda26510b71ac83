#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::files
{

// One file a request brings, as the request named it.
struct FileIn
{
    // How a refusal names where the path came from, such as `files[2].path`.
    std::string label;
    std::string path;
    std::string content;
};

// Everything a request brings into the run's working directory, not yet checked.
struct FilesIn
{
    std::vector<FileIn> files;
    // The bytes of the one archive (zip, tar, tar.gz or tar.xz), when the request has one.
    std::optional<std::string> archive;
    // The script's path when it comes among the files; empty when it comes as code.
    std::string entry;

    bool empty() const { return files.empty() && !archive; }
};

// What the files may take, from the run's resolved limits.
struct FilesLimits
{
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    // The run's writable space (disk_mb) in bytes: files that cannot fit are refused here
    // rather than failing the run half unpacked.
    std::uint64_t diskBytes = 0;
};

// A refusal: 400 for a bad path or archive, 413 for a limit; one sentence naming the entry.
struct FilesRefusal
{
    int status = 400;
    std::string message;

    bool operator==(const FilesRefusal&) const = default;
};

// Checks every path (core::filePathProblem, not out/ or under it, no duplicate, no file that
// is also another's directory), reads the archive without trusting it (regular files and
// directories only; counted and bounded while it decompresses, so a bomb costs at most
// limits.bytes) and writes the files as the bundle the run's unit unpacks: a pax tar of
// regular files (0600) and their parent directories (0700), owned by 0:0, mtime 0. The empty
// string when nothing comes in. `entry`, when set, must name one of the files.
std::variant<std::string, FilesRefusal> makeBundle(FilesIn in, const FilesLimits& limits);

// Why `path` may not be a path of the run's files, as the end of a sentence, or nothing:
// the path rule, and out/ stays the run's own for its reports.
std::optional<std::string> filesPathProblem(std::string_view path);

// RFC 4648 base64 (padding optional, line breaks ignored), or nothing when `text` is not.
std::optional<std::string> decodeBase64(std::string_view text);

} // namespace pyrunner::files
