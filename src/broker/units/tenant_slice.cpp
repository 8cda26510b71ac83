#include "broker/units/tenant_slice.hpp"

#include <cstdint>
#include <limits>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t infinity = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
// CPUQuotaPerSecUSec for 1 % of one CPU.
constexpr std::uint64_t quotaUsecPerPercent = 10000;
constexpr std::string_view sliceSuffix = ".slice";

} // namespace

std::string tenantSlice(std::string_view baseSlice, std::string_view tenant)
{
    if (tenant.empty())
    {
        return std::string(baseSlice);
    }
    if (baseSlice.ends_with(sliceSuffix))
    {
        baseSlice.remove_suffix(sliceSuffix.size());
    }
    return std::string(baseSlice) + "-" + std::string(tenant) + std::string(sliceSuffix);
}

std::vector<Property> tenantSliceCaps(const core::TenantCaps& caps)
{
    return {{"CPUQuotaPerSecUSec", caps.cpuPercent == 0
                                       ? infinity
                                       : std::uint64_t{caps.cpuPercent} * quotaUsecPerPercent},
            {"MemoryMax", caps.memoryMb == 0 ? infinity : caps.memoryMb * bytesPerMb}};
}

} // namespace pyrunner::systemd
