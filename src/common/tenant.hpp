#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pyrunner::core
{

// A tenant is the NAME of the tokens it holds (docs/operations.md, "Tokens and tenants").
// Lowercase letters, digits and '_', a letter first, at most 32: it becomes part of a slice's
// name and a journal field, and systemd reads every '-' in a slice's name as one more level
// of the tree (pyrunner-a-b.slice lies under pyrunner-a.slice), so a dash would let one
// tenant's slice sit inside another's.
inline constexpr std::size_t maxTenantNameLength = 32;
bool isTenantName(std::string_view name);

// The slice a tenant's runs run in: pyrunner-<tenant>.slice, under pyrunner.slice. The empty
// tenant (a server without authentication) is pyrunner.slice itself.
inline constexpr std::string_view runsSlice = "pyrunner.slice";
std::string tenantSliceName(std::string_view tenant);

// A tenant's share of the machine, set on its slice; 0 leaves that resource uncapped.
struct TenantCaps
{
    // Percent of one CPU for all the tenant's runs together (CPUQuota=; 200: two CPUs).
    std::uint32_t cpuPercent = 0;
    // MemoryMax= of the slice, in MiB.
    std::uint64_t memoryMb = 0;

    bool operator==(const TenantCaps&) const = default;
};

inline constexpr std::uint32_t maxTenantCpuPercent = 100U * 1024U;
inline constexpr std::uint64_t minTenantMemoryMb = 16;
inline constexpr std::uint64_t maxTenantMemoryMb = std::uint64_t{1} << 24U;
// Whether each cap is 0 or within its bounds.
bool areTenantCaps(const TenantCaps& caps);

// Whose runs a unit runs, and that tenant's caps: what the sandbox needs to place a unit.
struct TenantSlice
{
    std::string tenant;
    TenantCaps caps;

    bool operator==(const TenantSlice&) const = default;
};

} // namespace pyrunner::core
