#include "common/tenant.hpp"

#include <algorithm>

namespace pyrunner::core
{

bool isTenantName(std::string_view name)
{
    return !name.empty() && name.size() <= maxTenantNameLength && name.front() >= 'a' &&
           name.front() <= 'z' && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
           });
}

std::string tenantSliceName(std::string_view tenant)
{
    if (tenant.empty())
    {
        return std::string(runsSlice);
    }
    return "pyrunner-" + std::string(tenant) + ".slice";
}

bool areTenantCaps(const TenantCaps& caps)
{
    return caps.cpuPercent <= maxTenantCpuPercent &&
           (caps.memoryMb == 0 ||
            (caps.memoryMb >= minTenantMemoryMb && caps.memoryMb <= maxTenantMemoryMb));
}

} // namespace pyrunner::core
