#include "broker/sandbox/property_variants.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <sys/wait.h>

namespace pyrunner::systemd
{
namespace
{

TEST(ToVariant, GivesEachPropertyTheSignatureSystemdTakes)
{
    EXPECT_EQ(toVariant(std::uint64_t{1}).peekValueType(), "t");
    EXPECT_EQ(toVariant(StringList{"a"}).peekValueType(), "as");
    EXPECT_EQ(toVariant(Bytes{1}).peekValueType(), "ay");
    EXPECT_EQ(toVariant(JournalFieldList{Bytes{'A', '=', 'b'}}).peekValueType(), "aay");
    EXPECT_EQ(toVariant(std::vector<ExecCommand>{{"/bin/true", {"true"}, {}}}).peekValueType(),
              "a(sasas)");
    EXPECT_EQ(toVariant(NameFilter{false, {"@mount"}}).peekValueType(), "(bas)");
    EXPECT_EQ(toVariant(std::vector<IpPrefix>{}).peekValueType(), "a(iayu)");
    EXPECT_EQ(toVariant(std::vector<BindMount>{{"/a", "/b", true, 0}}).peekValueType(), "a(ssbt)");
    EXPECT_EQ(toVariant(std::vector<CredentialSource>{{"id", "/p"}}).peekValueType(), "a(ss)");
    EXPECT_EQ(toVariant(std::vector<TemporaryFs>{{"/run", "ro"}}).peekValueType(), "a(ss)");
}

TEST(ToVariant, KeepsAListsEntries)
{
    const auto variant = toVariant(std::vector<BindMount>{{"/a", "/b", true, 7}});
    const auto mounts =
        variant.get<std::vector<sdbus::Struct<std::string, std::string, bool, std::uint64_t>>>();

    ASSERT_EQ(mounts.size(), 1U);
    EXPECT_EQ(mounts[0].get<0>(), "/a");
    EXPECT_EQ(mounts[0].get<1>(), "/b");
    EXPECT_TRUE(mounts[0].get<2>());
    EXPECT_EQ(mounts[0].get<3>(), 7U);
}

TEST(ToDbus, KeepsNamesAndOrder)
{
    const auto properties =
        toDbus({{"Type", std::string("exec")}, {"MemoryMax", std::uint64_t{64}}});

    ASSERT_EQ(properties.size(), 2U);
    EXPECT_EQ(properties[0].get<0>(), "Type");
    EXPECT_EQ(properties[1].get<1>().get<std::uint64_t>(), 64U);
}

TEST(ServiceProperties, AreReadFromAPropertiesChangedMap)
{
    const PropertyMap map{{"Result", sdbus::Variant(std::string("exit-code"))},
                          {"ExecMainCode", sdbus::Variant(std::int32_t{CLD_EXITED})},
                          {"ExecMainStatus", sdbus::Variant(std::int32_t{3})},
                          {"ExecMainStartTimestampMonotonic", sdbus::Variant(std::uint64_t{10})},
                          {"MainPID", sdbus::Variant(std::uint32_t{42})},
                          {"CPUUsageNSec", sdbus::Variant(std::uint64_t{5000})}};

    const auto service = serviceProperties(map);

    EXPECT_EQ(service.result, "exit-code");
    EXPECT_EQ(service.execMainCode, CLD_EXITED);
    EXPECT_EQ(service.execMainStatus, 3);
    EXPECT_EQ(service.execMainStartUsec, 10U);
    EXPECT_FALSE(service.execMainExitUsec);
    EXPECT_EQ(service.mainPid, 42U);
    EXPECT_EQ(service.cpuUsageNsec, 5000U);
}

TEST(ServiceProperties, OfAnotherTypeAreLeftOut)
{
    const PropertyMap map{{"Result", sdbus::Variant(std::uint32_t{1})},
                          {"MainPID", sdbus::Variant(std::string("42"))}};

    const auto service = serviceProperties(map);

    EXPECT_FALSE(service.result);
    EXPECT_FALSE(service.mainPid);
}

TEST(UnitChange, HasTheStatesAMapGives)
{
    const auto change = unitChange({{"SubState", sdbus::Variant(std::string("stop-post"))}});

    EXPECT_FALSE(change.activeState);
    EXPECT_EQ(change.subState, "stop-post");
}

} // namespace
} // namespace pyrunner::systemd
