#include "broker/sandbox/oom_watch.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace pyrunner::systemd
{
namespace
{

using Names = std::vector<std::string>;

TEST(OomEventLine, NamesTheEventfdThenTheOomControlFile)
{
    EXPECT_EQ(oomEventLine(7, 12), "7 12");
}

// A stand-in for a v1 memory hierarchy: plain files where the kernel has its own. Writing to
// cgroup.event_control records the line, so a test can find the watch's eventfd and signal
// it as the kernel would.
class FakeHierarchy : public ::testing::Test
{
  protected:
    // A cgroup directory; `removed` makes its memory.oom_control unreadable, as the kernel's
    // are once the cgroup is gone.
    void makeCgroup(const std::string& path, bool removed = false)
    {
        const auto dir = tree / path.substr(1);
        std::filesystem::create_directories(dir);
        if (removed)
        {
            std::filesystem::create_directory(dir / "memory.oom_control");
        }
        else
        {
            std::ofstream(dir / "memory.oom_control") << "oom_kill_disable 0\nunder_oom 1\n";
        }
        std::ofstream(dir / "cgroup.event_control").flush();
    }

    // Does what the kernel does on an OOM of the cgroup: signals the registered eventfd.
    void signal(const std::string& path)
    {
        std::ifstream line(tree / path.substr(1) / "cgroup.event_control");
        int eventFd = -1;
        line >> eventFd;
        const std::uint64_t one = 1;
        ASSERT_EQ(::write(eventFd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    }

    std::unique_ptr<OomWatch> makeWatch()
    {
        return std::make_unique<OomWatch>(
            core::UniqueFd(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
            [this](const std::string& key) {
            const std::lock_guard lock(reportsMutex);
            reports.push_back(key);
            reportsChanged.notify_all();
            });
    }

    Names waitForReports(std::size_t count)
    {
        std::unique_lock lock(reportsMutex);
        reportsChanged.wait_for(lock, std::chrono::seconds(10),
                                [&] { return reports.size() >= count; });
        return reports;
    }

    const test::TempDir made{"oom-watch"};
    const std::filesystem::path& tree = made.path();
    std::mutex reportsMutex;
    std::condition_variable reportsChanged;
    Names reports;
};

TEST_F(FakeHierarchy, RegistersTheEventfdWithTheCgroupsOomControl)
{
    makeCgroup("/pyrunner.slice/a.service");
    const auto watch = makeWatch();

    watch->watch("a", "/pyrunner.slice/a.service");

    std::ifstream file(tree / "pyrunner.slice/a.service/cgroup.event_control");
    std::stringstream text;
    text << file.rdbuf();
    int eventFd = -1;
    int oomControlFd = -1;
    text >> eventFd >> oomControlFd;
    EXPECT_EQ(text.str(), oomEventLine(eventFd, oomControlFd));
    EXPECT_NE(eventFd, oomControlFd);
    EXPECT_EQ(::fcntl(eventFd, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(::fcntl(oomControlFd, F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST_F(FakeHierarchy, ReportsEachOomUnderItsKey)
{
    makeCgroup("/pyrunner.slice/a.service");
    makeCgroup("/pyrunner.slice/b.service");
    const auto watch = makeWatch();
    watch->watch("a", "/pyrunner.slice/a.service");
    watch->watch("b", "/pyrunner.slice/b.service");

    signal("/pyrunner.slice/b.service");
    EXPECT_EQ(waitForReports(1), Names{"b"});
    signal("/pyrunner.slice/a.service");
    EXPECT_EQ(waitForReports(2), (Names{"b", "a"}));
}

TEST_F(FakeHierarchy, TheSignalOfARemovedCgroupIsNoOom)
{
    makeCgroup("/pyrunner.slice/gone.service", true);
    makeCgroup("/pyrunner.slice/live.service");
    const auto watch = makeWatch();
    watch->watch("gone", "/pyrunner.slice/gone.service");
    watch->watch("live", "/pyrunner.slice/live.service");

    // The watch handles a signal no later than one that came after it.
    signal("/pyrunner.slice/gone.service");
    signal("/pyrunner.slice/live.service");

    EXPECT_EQ(waitForReports(1), Names{"live"});
}

TEST_F(FakeHierarchy, RefusesALinkOnTheWay)
{
    makeCgroup("/elsewhere/a.service");
    std::filesystem::create_directory_symlink(tree / "elsewhere", tree / "pyrunner.slice");
    const auto watch = makeWatch();

    EXPECT_THROW(watch->watch("a", "/pyrunner.slice/a.service"), std::runtime_error);
}

TEST_F(FakeHierarchy, RefusesALinkInPlaceOfAFile)
{
    makeCgroup("/pyrunner.slice/a.service");
    const auto dir = tree / "pyrunner.slice/a.service";
    std::filesystem::remove(dir / "cgroup.event_control");
    std::filesystem::create_symlink(tree / "planted", dir / "cgroup.event_control");
    const auto watch = makeWatch();

    EXPECT_THROW(watch->watch("a", "/pyrunner.slice/a.service"), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(tree / "planted"));
}

TEST_F(FakeHierarchy, RefusesAPathOutOfTheHierarchy)
{
    const auto watch = makeWatch();

    EXPECT_THROW(watch->watch("a", "/../a.service"), std::runtime_error);
}

TEST_F(FakeHierarchy, HasNothingToWatchOnceTheUnitHasEnded)
{
    makeCgroup("/pyrunner.slice/live.service");
    const auto watch = makeWatch();

    // An ended unit: systemd reports no ControlGroup, or the cgroup has gone since.
    watch->watch("ended", "");
    watch->watch("removed", "/pyrunner.slice/removed.service");
    watch->watch("live", "/pyrunner.slice/live.service");
    signal("/pyrunner.slice/live.service");

    EXPECT_EQ(waitForReports(1), Names{"live"});
}

TEST_F(FakeHierarchy, StopsWithRegistrationsStillWatched)
{
    makeCgroup("/pyrunner.slice/a.service");
    auto watch = makeWatch();
    watch->watch("a", "/pyrunner.slice/a.service");
    watch->unwatch("never-watched");

    watch.reset();

    EXPECT_TRUE(waitForReports(0).empty());
}

} // namespace
} // namespace pyrunner::systemd
