#include "cgroup/cgroup_tree.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace pyrunner::systemd
{
namespace
{

using Names = std::vector<std::string>;

TEST(CgroupComponents, SplitsSystemdsControlGroup)
{
    EXPECT_EQ(cgroupComponents("/pyrunner.slice/pyrunner-0123abcd.service"),
              (Names{"pyrunner.slice", "pyrunner-0123abcd.service"}));
    EXPECT_EQ(cgroupComponents("/x.service"), Names{"x.service"});
}

TEST(CgroupComponents, RefusesTheRootAndAnythingButPlainNames)
{
    using namespace std::string_view_literals;
    for (const auto path : {""sv, "/"sv, "relative/x.service"sv, "/a//b"sv, "/a/"sv, "/./a"sv,
                            "/a/."sv, "/a/../b"sv, "/.."sv, "/a\0b"sv})
    {
        EXPECT_FALSE(cgroupComponents(path)) << path;
    }
}

TEST(OpenCgroup, AGoneCgroupIsAnEmptyFd)
{
    const core::UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    EXPECT_FALSE(openCgroup(root.get(), "/no-such.slice/pyrunner-0123abcd.service"));
}

TEST(OpenCgroup, RefusesWhatIsNotAPlainControlGroup)
{
    const core::UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    EXPECT_THROW(openCgroup(root.get(), "/../etc"), std::runtime_error);
    EXPECT_THROW(openCgroup(root.get(), "/"), std::runtime_error);
}

TEST(OpenCgroup, FollowsNoLinkOnTheWay)
{
    const core::UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    // /proc/self is a link: a cgroup path through it would leave the hierarchy.
    EXPECT_THROW(openCgroup(root.get(), "/proc/self/fd"), std::runtime_error);
}

TEST(CgroupTree, ACgroupThatIsNotThereHasNoFigures)
{
    EXPECT_FALSE(CgroupTree::forHost().read("/no-such.slice/pyrunner-0123abcd.service"));
}

} // namespace
} // namespace pyrunner::systemd
