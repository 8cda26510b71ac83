#include "broker/units/warm_bootstrap.hpp"
#include "common/fd.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace pyrunner::systemd
{
namespace
{

namespace fs = std::filesystem;

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The bootstrap run by the system's Python outside any sandbox, given a file holding the
// handover where a warm unit has its FIFO, the path a cold run's script would have, and a
// FIFO the test holds the read end of, where the unit's ready FIFO is.
class WarmBootstrapTest : public ::testing::Test
{
  protected:
    WarmBootstrapTest()
        : dir_(fs::temp_directory_path() / ("pyrunner-warm-" + std::to_string(::getpid())))
    {
        fs::create_directories(dir_);
        std::ofstream(dir_ / "bootstrap.py") << warmBootstrapCode();
        ::mkfifo((dir_ / "ready").c_str(), 0600);
        ready_ =
            core::UniqueFd(::open((dir_ / "ready").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    }
    ~WarmBootstrapTest() override { fs::remove_all(dir_); }
    WarmBootstrapTest(const WarmBootstrapTest&) = delete;
    WarmBootstrapTest& operator=(const WarmBootstrapTest&) = delete;
    WarmBootstrapTest(WarmBootstrapTest&&) = delete;
    WarmBootstrapTest& operator=(WarmBootstrapTest&&) = delete;

    int run(const std::string& handover, const std::string& imports = "")
    {
        std::ofstream(dir_ / "handover", std::ios::binary) << handover;
        const auto command = "/usr/bin/python3 -I -B -u " + (dir_ / "bootstrap.py").string() + " " +
                             (dir_ / "handover").string() + " " + scriptPath() + " " +
                             (dir_ / "ready").string() + " " + imports + " < /dev/null > " +
                             (dir_ / "out").string() + " 2> " + (dir_ / "err").string();
        const int status = std::system(command.c_str());
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string scriptPath() const { return (dir_ / "main.py").string(); }
    // Whether the bootstrap has said it is ready: opened and closed the ready FIFO.
    bool saidReady() const
    {
        pollfd hangup{ready_.get(), 0, 0};
        return ::poll(&hangup, 1, 0) == 1 && (hangup.revents & POLLHUP) != 0;
    }
    std::string out() const { return slurp(dir_ / "out"); }
    std::string err() const { return slurp(dir_ / "err"); }

    core::Limits limits() const
    {
        core::Limits l;
        l.cpuTimeS = 10;
        l.outputBytes = 1000;
        l.diskMb = 3;
        l.tasks = 64;
        return l;
    }

    fs::path dir_;
    core::UniqueFd ready_;
};

TEST_F(WarmBootstrapTest, RunsTheCodeAsMainWithItsArgvAndStdin)
{
    const auto code = "import sys\nprint(__name__, sys.argv[1:], input(), sys.argv[0] == __file__, "
                      "__file__)\n";
    EXPECT_EQ(run(handoverMessage(code, "typed\n", {"a b", "$HOME"}, limits())), 0);
    EXPECT_EQ(out(), "__main__ ['a b', '$HOME'] typed True " + scriptPath() + "\n");
    EXPECT_TRUE(saidReady());
}

TEST_F(WarmBootstrapTest, ImportsTheEnvironmentsModulesQuietlyAndSkipsOnesThatFail)
{
    const auto code = "import sys\nprint('wave' in sys.modules, 'xml.dom.minidom' in sys.modules, "
                      "sys.argv[1:])\n";
    EXPECT_EQ(
        run(handoverMessage(code, "", {}, limits()), "wave this no_such_module xml.dom.minidom"),
        0);
    EXPECT_EQ(out(), "True True []\n");
    EXPECT_EQ(err(), "");
}

TEST_F(WarmBootstrapTest, ReportsAnUncaughtExceptionWithoutItsOwnFrames)
{
    const auto code = "x = 1\nraise ValueError(x)\n";
    // The script's file holds the code by the handover, as the broker fills it first: the
    // traceback quotes its lines from there, as on the cold path.
    std::ofstream(scriptPath()) << code;
    EXPECT_EQ(run(handoverMessage(code, "", {}, limits())), 1);
    const auto trace = err();
    EXPECT_NE(trace.find("main.py\", line 2, in <module>\n    raise ValueError(x)\n"),
              std::string::npos)
        << trace;
    EXPECT_EQ(trace.find("bootstrap"), std::string::npos) << trace;
}

TEST_F(WarmBootstrapTest, LowersItsLimitsToTheRuns)
{
    const auto code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_CPU), "
                      "resource.getrlimit(resource.RLIMIT_FSIZE))\n";
    EXPECT_EQ(run(handoverMessage(code, "", {}, limits())), 0);
    // The run's 10 s of CPU from the handover: plus the (first) second the bootstrap used.
    // The space's size, not the output cap: the run's files are not capped one by one.
    EXPECT_EQ(out(), "(11, 12) (3145728, 3145728)\n");
}

TEST_F(WarmBootstrapTest, EndsQuietlyWhenNoRunComes)
{
    EXPECT_EQ(run(""), 0);
    EXPECT_EQ(out(), "");
    EXPECT_EQ(err(), "");
    // Ready before any run came: once its imports were done.
    EXPECT_TRUE(saidReady());
}

TEST(HandoverMessage, IsFramedWithItsLength)
{
    const auto message = handoverMessage("print(1)", "", {}, core::Limits{});
    ASSERT_GE(message.size(), 12U);
    EXPECT_EQ(message.substr(0, 4), "PYR1");
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i)
    {
        length = (length << 8U) | static_cast<unsigned char>(message[4 + i]);
    }
    EXPECT_EQ(length, message.size() - 12);
}

} // namespace
} // namespace pyrunner::systemd
