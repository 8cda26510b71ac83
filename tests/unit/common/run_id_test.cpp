#include "common/run_id.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

TEST(RunUnits, TheRunIdIsReadBackFromTheUnitName)
{
    const std::string id(32, 'a');
    EXPECT_EQ(runIdOfUnit(unitNameFor(id)), id);
    EXPECT_FALSE(runIdOfUnit("pyrunner-" + id + ".scope"));
    EXPECT_FALSE(runIdOfUnit("pyrunner-broker.service"));
    EXPECT_FALSE(runIdOfUnit("pyrunner-../x.service"));
    EXPECT_FALSE(runIdOfUnit("other-" + id + ".service"));
}

TEST(RunId, IsThirtyTwoHexDigitsAndUnique)
{
    const auto a = newRunId();
    EXPECT_TRUE(isRunId(a));
    EXPECT_NE(a, newRunId());
    EXPECT_FALSE(isRunId("../etc"));
    EXPECT_FALSE(isRunId(a + "0"));
}

} // namespace
} // namespace pyrunner::core
