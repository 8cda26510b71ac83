#include "broker/units/tenant_slice.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t infinity = std::numeric_limits<std::uint64_t>::max();

TEST(TenantSlice, IsTheBaseSliceForNoTenant)
{
    EXPECT_EQ(tenantSlice("pyrunner.slice", ""), "pyrunner.slice");
}

TEST(TenantSlice, SitsBeneathTheBaseSlice)
{
    EXPECT_EQ(tenantSlice("pyrunner.slice", "alice"), "pyrunner-alice.slice");
    EXPECT_EQ(tenantSlice("pyrunner.slice", "team_2"), "pyrunner-team_2.slice");
    // systemd's dash hierarchy: a base slice deeper in the tree keeps its place.
    EXPECT_EQ(tenantSlice("system-runs.slice", "alice"), "system-runs-alice.slice");
}

TEST(TenantSlice, IsTheSliceTheCommonCodeNamesForTheDefaultBase)
{
    EXPECT_EQ(tenantSlice(core::runsSlice, "alice"), core::tenantSliceName("alice"));
    EXPECT_EQ(tenantSlice(core::runsSlice, ""), core::tenantSliceName(""));
}

TEST(TenantSliceCaps, SetsTheCpuQuotaAndMemoryMax)
{
    const auto caps = tenantSliceCaps({250, 1024});
    EXPECT_EQ(caps, (std::vector<Property>{{"CPUQuotaPerSecUSec", std::uint64_t{2500000}},
                                           {"MemoryMax", std::uint64_t{1024} * 1024 * 1024}}));
}

TEST(TenantSliceCaps, LiftsWhatIsUncapped)
{
    // Set, not left out: a cap the operator lifted must be lifted on the slice too.
    EXPECT_EQ(tenantSliceCaps({}),
              (std::vector<Property>{{"CPUQuotaPerSecUSec", infinity}, {"MemoryMax", infinity}}));
    EXPECT_EQ(tenantSliceCaps({0, 64}),
              (std::vector<Property>{{"CPUQuotaPerSecUSec", infinity},
                                     {"MemoryMax", std::uint64_t{64} * 1024 * 1024}}));
}

TEST(TenantSliceCaps, HoldTheLargestCapsWithoutOverflow)
{
    const auto caps = tenantSliceCaps({core::maxTenantCpuPercent, core::maxTenantMemoryMb});
    EXPECT_EQ(std::get<std::uint64_t>(caps[0].value),
              std::uint64_t{core::maxTenantCpuPercent} * 10000);
    EXPECT_EQ(std::get<std::uint64_t>(caps[1].value), core::maxTenantMemoryMb * 1024 * 1024);
    EXPECT_NE(std::get<std::uint64_t>(caps[1].value), infinity);
}

} // namespace
} // namespace pyrunner::systemd
