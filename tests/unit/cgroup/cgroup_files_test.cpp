#include "cgroup/cgroup_files.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

constexpr const char* hybridHost = "9:name=systemd:/system.slice/x.service\n"
                                   "4:memory:/system.slice/x.service\n"
                                   "2:cpu,cpuacct:/system.slice\n"
                                   "0::/system.slice/x.service\n";

TEST(CgroupPathOf, FindsAV1ControllerInItsList)
{
    EXPECT_EQ(cgroupPathOf(hybridHost, "memory"), "/system.slice/x.service");
    EXPECT_EQ(cgroupPathOf(hybridHost, "cpuacct"), "/system.slice");
    EXPECT_FALSE(cgroupPathOf(hybridHost, "pids"));
}

TEST(CgroupPathOf, EmptyControllerMeansTheUnifiedHierarchy)
{
    EXPECT_EQ(cgroupPathOf(hybridHost, ""), "/system.slice/x.service");
    EXPECT_FALSE(cgroupPathOf("4:memory:/a\n", ""));
}

TEST(KeyedValue, ReadsOomKillFromV1AndV2Files)
{
    EXPECT_EQ(keyedValue("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "oom_kill"), 1U);
    EXPECT_EQ(keyedValue("low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\n", "oom_kill"), 2U);
    EXPECT_EQ(keyedValue("usage_usec 402832\nuser_usec 1\n", "usage_usec"), 402832U);
    EXPECT_FALSE(keyedValue("oom_kill_disable 0\n", "oom_kill"));
}

TEST(NumberFile, TakesOneNumberAndItsNewline)
{
    EXPECT_EQ(numberFile("104857600\n"), 104857600U);
    EXPECT_FALSE(numberFile("max\n"));
    EXPECT_FALSE(numberFile("1\n2\n"));
}

TEST(FirstNumber, TakesTheQuotaOfCpuMax)
{
    EXPECT_EQ(firstNumber("100000 100000\n"), 100000U);
    EXPECT_FALSE(firstNumber("max 100000\n"));
}

TEST(CgroupFiles, OnlyTheKernelsDefaultDevicesListAllowsAll)
{
    EXPECT_TRUE(devicesListAllowsAll("a *:* rwm\n"));
    // DevicePolicy=closed: the few devices it keeps, or none.
    EXPECT_FALSE(devicesListAllowsAll("c 1:3 rwm\nc 1:5 rwm\n"));
    EXPECT_FALSE(devicesListAllowsAll(""));
    EXPECT_FALSE(devicesListAllowsAll("a *:* rwm\nc 1:3 rwm\n"));
}

} // namespace
} // namespace pyrunner::systemd
