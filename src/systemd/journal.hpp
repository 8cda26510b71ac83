#pragma once

#include "core/run.hpp"

#include <string>

namespace pyrunner::systemd
{

// One structured entry per finished run, so `journalctl RUN_ID=<id>` tells its story.
void logRunFinished(const core::Run& run);

// A server-side problem, with the priority of syslog(3).
void logMessage(int priority, const std::string& message);

} // namespace pyrunner::systemd
