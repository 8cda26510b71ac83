#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::http
{

// The media type of a collected file, from its name's extension alone: the bytes are the
// run's, and what they claim to be is not to be trusted. Without a charset.
std::string mediaTypeOf(std::string_view path);
// The Content-Type a file is served with: text types are sent as UTF-8.
std::string contentTypeOf(std::string_view path);

// "%2F" and the like decoded; nothing for a malformed escape or a decoded NUL.
std::optional<std::string> percentDecode(std::string_view text);

// One file of a zip, read only as the zip is written.
struct ZipMember
{
    std::string path;
    std::function<std::optional<std::string>()> read;
};

// A zip archive (libarchive) of `members`, each at its path; nothing if one cannot be read.
std::optional<std::string> zipOf(const std::vector<ZipMember>& members);

} // namespace pyrunner::http
