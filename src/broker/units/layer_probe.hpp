#pragma once

#include "common/cgroup_stats.hpp"
#include "common/limits.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::systemd
{

// systemd skips some sandboxing silently where the kernel lacks it, so the broker starts
// one real run unit at start-up whose Python checks, from the inside, that each layer
// holds, printing "name yes|no" lines. The cgroup limits, which the run cannot see, come
// from the record its stop-post helper writes from the unit's cgroups, with what systemd
// put on them (BPF programs, controllers) for the layers only cgroup v2 enforces.
using LayerReport = std::map<std::string, bool>;

// The probe's Python source.
std::string_view layerProbeCode();

// Every layer the probe checks, so a layer it could not report counts as missing.
const std::vector<std::string>& probedLayers();

// The probe's output, and its stop-post helper's record of the unit's cgroups against the
// limits it ran with; a layer absent or malformed in the output is "no".
LayerReport layerReport(std::string_view probeOutput, const core::CgroupStats& cgroup,
                        const core::Limits& limits);

std::vector<std::string> missingLayers(const LayerReport& report);

} // namespace pyrunner::systemd
