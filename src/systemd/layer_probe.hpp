#pragma once

#include "core/limits.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::systemd
{

// systemd skips some sandboxing silently where the kernel lacks it, so the broker starts
// one real run unit at start-up whose Python checks, from the inside, that each layer
// holds. Its report is "name yes|no" lines.
using LayerReport = std::map<std::string, bool>;

// The probe's Python source; its arguments are expectedArgs().
std::string_view layerProbeCode();
std::vector<std::string> layerProbeArgs(const core::Limits& limits);

// Every layer the probe checks, so a layer it could not report counts as missing.
const std::vector<std::string>& probedLayers();

// Lines of the report; a layer absent or malformed in it is "no".
LayerReport parseLayerReport(std::string_view text);

std::vector<std::string> missingLayers(const LayerReport& report);

} // namespace pyrunner::systemd
