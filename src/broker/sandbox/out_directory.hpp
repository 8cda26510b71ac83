#pragma once

#include <string>

namespace pyrunner::systemd
{

// Whether the run left anything in its out/ directory, looked at from the host through
// `spaceTmp`, the run's working directory in its space (made by systemd, a mount point the run
// cannot move). out/ itself is the run's to arrange, so it is opened without following any
// link or leaving the space's file system, and only listed, never read. What cannot be told
// counts as something there: the run's end then waits for the collector.
bool outDirectoryHasEntries(const std::string& spaceTmp);

} // namespace pyrunner::systemd
