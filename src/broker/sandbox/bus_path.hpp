#pragma once

#include <string>
#include <string_view>

namespace pyrunner::systemd
{

// systemd's object path for a unit: every byte outside [A-Za-z0-9] becomes _XX (hex).
std::string unitObjectPath(std::string_view unitName);

} // namespace pyrunner::systemd
