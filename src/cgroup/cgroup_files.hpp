#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::systemd
{

// The cgroup path of `controller` in /proc/self/cgroup text: a v1 hierarchy whose
// controller list names it, or the unified (v2) hierarchy for an empty `controller`.
std::optional<std::string> cgroupPathOf(std::string_view procSelfCgroup,
                                        std::string_view controller);

// The number after `key` in "key value" lines (memory.oom_control, memory.events, cpu.stat).
std::optional<std::uint64_t> keyedValue(std::string_view text, std::string_view key);

// A single number file such as memory.max_usage_in_bytes, trailing newline allowed.
std::optional<std::uint64_t> numberFile(std::string_view text);

// The first of the space-separated fields of a one-line file, such as v2's cpu.max.
std::optional<std::uint64_t> firstNumber(std::string_view text);

// Whether a v1 devices.list lets every device through: "a *:* rwm", what the kernel lists for
// a cgroup that no one has restricted.
bool devicesListAllowsAll(std::string_view text);

} // namespace pyrunner::systemd
