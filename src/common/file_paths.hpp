#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// The one rule for the path of a run's file, whether it comes in with the request or is
// collected from its out/ directory (docs/api.md, "Files in" and "Files out").
inline constexpr std::size_t maxPathSegmentBytes = 255;
inline constexpr std::size_t maxPathBytes = 1024;

// Why `path` is not a valid file path, as the end of a sentence ("has an empty segment"), or
// nothing when it is one: relative, '/'-separated, no empty, "." or ".." segment, valid UTF-8
// without control characters (no NUL, no newline), at most maxPathSegmentBytes a segment and
// maxPathBytes in all.
std::optional<std::string> filePathProblem(std::string_view path);

// A file name the way a run left it, fit to show in a message or a listing: invalid UTF-8 and
// control characters become U+FFFD, and a very long one is cut.
std::string displayPath(std::string_view path);

} // namespace pyrunner::core
