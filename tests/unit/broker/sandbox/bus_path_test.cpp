#include "broker/sandbox/bus_path.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

TEST(UnitObjectPath, EscapesEverythingButAlphanumerics)
{
    EXPECT_EQ(unitObjectPath("pyrunner-ab12.service"),
              "/org/freedesktop/systemd1/unit/pyrunner_2dab12_2eservice");
    EXPECT_EQ(unitObjectPath(""), "/org/freedesktop/systemd1/unit/_");
}

} // namespace
} // namespace pyrunner::systemd
