#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// 128 random bits as lowercase hex: URL-safe, valid in a unit name, never guessable.
std::string newRunId();

// The shape newRunId() produces; anything else cannot name a run.
bool isRunId(std::string_view text);

// The transient unit that runs the run with this id: the one name both daemons and the
// operator's `systemctl` know it by.
std::string unitNameFor(const std::string& runId);
// The run id in a run unit's name; nothing for any other unit.
std::optional<std::string> runIdOfUnit(std::string_view unitName);

} // namespace pyrunner::core
