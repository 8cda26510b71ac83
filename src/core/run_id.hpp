#pragma once

#include <string>
#include <string_view>

namespace pyrunner::core
{

// 128 random bits as lowercase hex: URL-safe, valid in a unit name, never guessable.
std::string newRunId();

// The shape newRunId() produces; anything else cannot name a run.
bool isRunId(std::string_view text);

} // namespace pyrunner::core
