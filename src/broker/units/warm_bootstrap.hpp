#pragma once

#include "common/limits.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::systemd
{

// The Python a warm unit starts with: it imports the common modules, waits for its one run
// on its handover FIFO, lowers its process limits to the run's, and becomes the run: the
// run's code runs as __main__ under the same file name, argv, stdin and tracebacks as on the
// cold path.
std::string_view warmBootstrapCode();

// What the broker writes to a warm unit's handover FIFO: "PYR1", the length of the
// rest, then the run's process limits (the process count the unit's, its reaper counted),
// code, stdin and arguments.
std::string handoverMessage(const std::string& code, const std::string& stdinData,
                            const std::vector<std::string>& args, const core::Limits& limits);

} // namespace pyrunner::systemd
