#include "broker/sandbox/warm_handover.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace pyrunner::systemd
{
namespace
{

using namespace std::chrono_literals;

// A pipe whose write end does not block, as the broker's end of a handover FIFO.
struct Pipe
{
    Pipe()
    {
        int fds[2] = {-1, -1};
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        {
            throw std::runtime_error("pipe2 failed");
        }
        reader = core::UniqueFd(fds[0]);
        writer = core::UniqueFd(fds[1]);
    }

    // Fills the pipe until it takes no more.
    void fill() const
    {
        const std::string block(4096, 'f');
        while (::write(writer.get(), block.data(), block.size()) > 0)
        {
        }
    }

    // Reads everything there now.
    std::string drain() const
    {
        std::string out;
        char buffer[65536];
        ssize_t n = 0;
        while ((n = ::read(reader.get(), buffer, sizeof buffer)) > 0)
        {
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

    core::UniqueFd reader;
    core::UniqueFd writer;
};

core::UniqueFd duplicate(const core::UniqueFd& fd)
{
    return core::UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
}

// Records the writer's stall reports.
struct Stalls
{
    HandoverWriter::OnStalled recorder()
    {
        return [this](const std::string& key) {
            const std::lock_guard lock(mutex);
            keys.push_back(key);
            changed.notify_all();
        };
    }
    bool waitForOne(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [this] { return !keys.empty(); });
    }

    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> keys;
};

TEST(WriteHandover, WritesAMessageThePipeCanBeMadeToHoldAtOnce)
{
    const Pipe pipe;
    const std::string message(200'000, 'm');

    EXPECT_EQ(writeHandover(pipe.writer.get(), message), message.size());
    EXPECT_EQ(pipe.drain(), message);
}

TEST(WriteAvailable, WritesWhatAPipeTakesAndSaysHowMuch)
{
    const Pipe pipe;
    const std::string message(1U << 20U, 'm');

    const auto written = writeAvailable(pipe.writer.get(), message);

    ASSERT_TRUE(written);
    EXPECT_GT(*written, 0U);
    EXPECT_LT(*written, message.size());
    EXPECT_EQ(pipe.drain(), message.substr(0, *written));
}

TEST(WriteAvailable, WritesNothingToAFullPipeAndSaysSo)
{
    const Pipe pipe;
    pipe.fill();

    EXPECT_EQ(writeAvailable(pipe.writer.get(), "late"), 0U);
}

TEST(WriteAvailable, FailsOnAPipeNobodyReads)
{
    Pipe pipe;
    pipe.reader.reset();
    const auto ignored = std::signal(SIGPIPE, SIG_IGN);

    EXPECT_FALSE(writeAvailable(pipe.writer.get(), "lost"));
    std::signal(SIGPIPE, ignored);
}

TEST(MakeHandoverFifo, MakesAFifoOthersMayOnlyRead)
{
    const auto dir =
        std::filesystem::temp_directory_path() / ("handover-" + std::to_string(::getpid()));
    std::filesystem::create_directory(dir);
    const auto path = (dir / "handover").string();

    const auto fifo = makeHandoverFifo(path);
    struct stat status
    {
    };
    const bool statted = ::stat(path.c_str(), &status) == 0;
    const auto again = makeHandoverFifo(path);
    std::filesystem::remove_all(dir);

    ASSERT_TRUE(fifo);
    ASSERT_TRUE(statted);
    EXPECT_TRUE(S_ISFIFO(status.st_mode));
    EXPECT_EQ(status.st_mode & 07777, 0604U);
    EXPECT_FALSE(again);
}

TEST(HandoverWriter, WritesTheRestAsTheReaderTakesIt)
{
    Stalls stalls;
    const Pipe pipe;
    pipe.fill();
    const std::string rest(300'000, 'r');
    std::string read;
    {
        HandoverWriter writer(stalls.recorder());
        writer.write("run", duplicate(pipe.writer), rest);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (read.size() < rest.size() + 65536 && std::chrono::steady_clock::now() < deadline)
        {
            pollfd readable{pipe.reader.get(), POLLIN, 0};
            ::poll(&readable, 1, 100);
            read += pipe.drain();
        }
    }

    const auto first = read.find('r');
    ASSERT_NE(first, std::string::npos);
    EXPECT_EQ(read.substr(first), rest);
    EXPECT_TRUE(stalls.keys.empty());
}

TEST(HandoverWriter, ReportsAReaderThatTakesNothing)
{
    Stalls stalls;
    const Pipe pipe;
    pipe.fill();
    HandoverWriter writer(stalls.recorder(), 50ms);

    writer.write("stuck", duplicate(pipe.writer), "rest");

    ASSERT_TRUE(stalls.waitForOne(10s));
    EXPECT_EQ(stalls.keys, std::vector<std::string>{"stuck"});
}

TEST(HandoverWriter, ACancelledWriteIsNeverReported)
{
    Stalls stalls;
    const Pipe pipe;
    pipe.fill();
    const Pipe other;
    other.fill();
    HandoverWriter writer(stalls.recorder(), 100ms);

    writer.write("cancelled", duplicate(pipe.writer), "rest");
    writer.cancel("cancelled");
    writer.write("kept", duplicate(other.writer), "rest");

    ASSERT_TRUE(stalls.waitForOne(10s));
    EXPECT_EQ(stalls.keys, std::vector<std::string>{"kept"});
}

} // namespace
} // namespace pyrunner::systemd
