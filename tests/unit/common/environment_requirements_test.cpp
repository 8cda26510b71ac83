#include "common/environment_requirements.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

NormalisedRequirements normalised(const std::vector<std::string>& requirements)
{
    auto result = normaliseRequirements(requirements);
    EXPECT_TRUE(std::holds_alternative<NormalisedRequirements>(result))
        << std::get<std::string>(result);
    return std::get<NormalisedRequirements>(result);
}

std::string refusal(const std::vector<std::string>& requirements)
{
    auto result = normaliseRequirements(requirements);
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
}

TEST(NormaliseRequirements, WritesEachEntryTheOneWaySortedWithoutDuplicates)
{
    EXPECT_EQ(
        normalised({" Pandas >= 1.5 ", "numpy", "NumPy", "Foo_Bar.baz[Extra]==1.0,!=1.0.1"})
            .entries,
        (std::vector<std::string>{"foo-bar-baz[extra]==1.0,!=1.0.1", "numpy", "pandas>=1.5"}));
}

TEST(NormaliseRequirements, RefusesAnythingButNamesExtrasAndVersions)
{
    for (const char* bad :
         {"--index-url=http://x", "-r /etc/shadow", "-e .", "pkg @ https://x/pkg.whl", "./pkg",
          "/tmp/pkg.whl", "pkg; os_name == 'posix'", "pkg==1.0 --hash=sha256:00", "", "pkg\n-r x",
          "pkg==", "==1.0"})
    {
        EXPECT_NE(refusal({bad}).find("requirements[0]"), std::string::npos) << bad;
    }
}

TEST(NormaliseRequirements, BoundsTheListAndEachEntry)
{
    EXPECT_EQ(refusal(std::vector<std::string>(maxRequirements + 1, "numpy")),
              "requirements may list at most 32 entries.");
    EXPECT_EQ(refusal({"numpy", std::string(maxRequirementBytes + 1, 'a')}),
              "requirements[1] is longer than 200 bytes.");
}

TEST(RequirementsKey, IsTheSameForListsThatMeanTheSameInstall)
{
    EXPECT_EQ(requirementsKey(normalised({"pandas>=1.5", "numpy"})),
              requirementsKey(normalised({"NumPy", "pandas >= 1.5"})));
    EXPECT_NE(requirementsKey(normalised({"pandas>=1.5"})),
              requirementsKey(normalised({"pandas>=1.6"})));
}

TEST(RequirementsKey, IsTheSha256OfTheRequirementsFile)
{
    // sha256("numpy\n")
    EXPECT_EQ(requirementsKey(normalised({"numpy"})),
              "e09f656c130b9c08b2c5ab7187c891295e449ed77febea2a6ceee9cc98ccb0fc");
}

TEST(RequirementsEnvironmentName, IsRecognisedAndNothingElseIs)
{
    const auto name = requirementsEnvironmentName(normalised({"numpy"}));
    EXPECT_EQ(name, "req-e09f656c130b9c08b2c5ab7187c89129");
    EXPECT_TRUE(isRequirementsEnvironmentName(name));
    for (const char* other : {"default", "req-", "req-E09F656C130B9C08B2C5AB7187C89129",
                              "req-e09f656c130b9c08b2c5ab7187c8912", "req-../../../etc/passwd00"})
    {
        EXPECT_FALSE(isRequirementsEnvironmentName(other)) << other;
    }
}

TEST(RequirementsFile, HasOneEntryALine)
{
    EXPECT_EQ(requirementsFile(normalised({"b", "a==1"})), "a==1\nb\n");
}

} // namespace
} // namespace pyrunner::core
