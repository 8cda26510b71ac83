#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace pyrunner::systemd
{

// Moves a tree a build unit left (`from`, written by a dynamic user whose uid systemd hands
// out again later) to `to`, then makes every file in it root's and read-only: no write bits,
// no set-id bits. Refuses, and removes what it moved, a tree larger than `maxBytes` or holding
// anything but directories, regular files and symbolic links, or a hard link (which could be
// a file from elsewhere). Symbolic links are kept as links, never followed. No process of the
// build may be left when it is called. A sentence saying why not, or nothing.
std::optional<std::string> freezeTree(const std::string& from, const std::string& to,
                                      std::uint64_t maxBytes);

// Removes a tree without following any symbolic link in it; harmless when it is not there.
void removeTree(const std::string& path);

// Adds a new read-only file (root's, 0444) to a frozen tree; false if anything, a link
// included, is already at `path`.
bool addFrozenFile(const std::string& path, const std::string& text);

// The file at `path` if it is a regular file of at most `maxBytes`, never through a link.
std::optional<std::string> readFrozenFile(const std::string& path, std::size_t maxBytes);

} // namespace pyrunner::systemd
