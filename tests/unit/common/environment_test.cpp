#include "common/environment.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace pyrunner::core
{
namespace
{

const Environment& named(const std::vector<Environment>& all, const std::string& name)
{
    for (const auto& environment : all)
    {
        if (environment.name == name)
        {
            return environment;
        }
    }
    throw std::out_of_range(name);
}

TEST(ShippedEnvironments, DefaultIsIsolatedWithoutSiteSoItSeesTheStandardLibraryOnly)
{
    const auto shipped = shippedEnvironments("/usr/bin/python3");
    const auto& plain = named(shipped, "default");
    EXPECT_EQ(plain.interpreter.python, "/usr/bin/python3");
    EXPECT_EQ(plain.interpreter.flags, (std::vector<std::string>{"-I"}));
    const auto& hidden = plain.interpreter.hiddenPaths;
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "/usr/lib/python3/dist-packages"),
              hidden.end());
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "/usr/local/lib"), hidden.end());
    EXPECT_TRUE(plain.interpreter.variables.empty());
}

TEST(ShippedEnvironments, DatascienceDrawsHeadlessCachesInTheRunsTmpAndRunsBlasSingleThreaded)
{
    const auto shipped = shippedEnvironments("/usr/bin/python3");
    const auto& science = named(shipped, "datascience");
    EXPECT_EQ(science.interpreter.flags, std::vector<std::string>{"-I"});
    EXPECT_EQ(science.interpreter.variables,
              (std::vector<std::string>{"MPLBACKEND=Agg", "MPLCONFIGDIR=/tmp/.matplotlib",
                                        "XDG_CACHE_HOME=/tmp/.cache", "OPENBLAS_NUM_THREADS=1",
                                        "OMP_NUM_THREADS=1"}));
    EXPECT_EQ(science.checkImports,
              (std::vector<std::string>{"numpy", "pandas", "matplotlib.pyplot"}));
}

TEST(VenvEnvironment, RunsTheVenvsOwnInterpreterIsolated)
{
    const auto tools = venvEnvironment("tools", EnvironmentKind::Operator, "/envs/tools");
    EXPECT_EQ(tools.interpreter.python, "/envs/tools/bin/python");
    EXPECT_EQ(tools.interpreter.flags, std::vector<std::string>{"-I"});
    EXPECT_EQ(tools.kind, EnvironmentKind::Operator);
}

TEST(EnvironmentName, TakesOnlyWhatIsSafeAsADirectoryName)
{
    for (const char* good : {"default", "data-science_2", "x"})
    {
        EXPECT_TRUE(isEnvironmentName(good)) << good;
    }
    for (const char* bad : {"", "..", "a/b", "-rf", "_x", "Upper", "a b", "a\nb"})
    {
        EXPECT_FALSE(isEnvironmentName(bad)) << bad;
    }
    EXPECT_TRUE(isEnvironmentName(std::string(64, 'a')));
    EXPECT_FALSE(isEnvironmentName(std::string(65, 'a')));
}

TEST(EnvironmentKind, RoundTripsThroughItsName)
{
    for (const auto kind :
         {EnvironmentKind::Shipped, EnvironmentKind::Operator, EnvironmentKind::Requirements})
    {
        EXPECT_EQ(parseEnvironmentKind(toString(kind)), kind);
    }
}

TEST(EnvironmentProbe, ImportsWhatTheEnvironmentMustHave)
{
    const auto shipped = shippedEnvironments("/usr/bin/python3");
    const auto& science = named(shipped, "datascience");
    const auto code = environmentProbeCode(science);
    EXPECT_NE(code.find("importlib.import_module('pandas')"), std::string::npos);
    EXPECT_NE(code.find("importlib.metadata.distributions()"), std::string::npos);
}

TEST(ProbeReport, GivesTheVersionAndThePackagesSortedByName)
{
    const auto report =
        parseProbeReport("python 3.11.2\npackage pandas 1.5.3\npackage numpy 1.24.2\n");
    ASSERT_TRUE(report);
    EXPECT_EQ(report->pythonVersion, "3.11.2");
    EXPECT_EQ(report->packages, (std::vector<Package>{{"numpy", "1.24.2"}, {"pandas", "1.5.3"}}));
}

TEST(ProbeReport, IsNothingWithoutAVersionOrWithAnyOtherLine)
{
    EXPECT_FALSE(parseProbeReport(""));
    EXPECT_FALSE(parseProbeReport("package numpy 1.24.2\n"));
    EXPECT_FALSE(parseProbeReport("python 3.11.2\nTraceback (most recent call last):\n"));
    EXPECT_FALSE(parseProbeReport("python 3.11.2\npackage numpy\n"));
}

TEST(EnvironmentRegistry, FindsByNameAndListsInNameOrder)
{
    EnvironmentRegistry registry;
    for (auto& environment : shippedEnvironments("/usr/bin/python3"))
    {
        registry.put(environment);
    }
    ASSERT_NE(registry.find("datascience"), nullptr);
    EXPECT_EQ(registry.find("pypy"), nullptr);
    const auto all = registry.list();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0].name, "datascience");
    EXPECT_EQ(all[1].name, "default");
}

TEST(EnvironmentRegistry, ReplacesAnEnvironmentOfTheSameName)
{
    EnvironmentRegistry registry;
    Environment first;
    first.name = "tools";
    first.builds = 1;
    registry.put(first);
    first.builds = 2;
    registry.put(first);
    ASSERT_EQ(registry.list().size(), 1U);
    EXPECT_EQ(registry.find("tools")->builds, 2U);
}

} // namespace
} // namespace pyrunner::core
