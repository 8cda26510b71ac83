#include "fake_run_service.hpp"
#include "front/http/event_streams.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace pyrunner::http
{
namespace
{

using namespace std::chrono_literals;

// Both ends of a connection: the client's, and the server's that a stream takes over.
struct Connection
{
    Connection()
    {
        std::array<int, 2> fds{};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()) != 0)
        {
            throw std::runtime_error("socketpair failed");
        }
        client = core::UniqueFd(fds[0]);
        server = core::UniqueFd(fds[1]);
    }

    TakeConnection take()
    {
        return [this] { return std::exchange(server, {}); };
    }

    // What the client has received once `done` holds for it, or the stream closed, or 10 s
    // passed.
    std::string readUntil(const std::function<bool(const std::string&)>& done)
    {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done(received) && !closed && std::chrono::steady_clock::now() < deadline)
        {
            pollfd ready{client.get(), POLLIN, 0};
            ::poll(&ready, 1, 100);
            std::array<char, 65536> buffer{};
            const auto n = ::read(client.get(), buffer.data(), buffer.size());
            if (n == 0)
            {
                closed = true;
            }
            else if (n > 0)
            {
                received.append(buffer.data(), static_cast<std::size_t>(n));
            }
        }
        return received;
    }

    std::string readToEnd()
    {
        return readUntil([](const std::string&) { return false; });
    }

    core::UniqueFd client;
    core::UniqueFd server;
    std::string received;
    bool closed = false;
};

bool contains(const std::string& text, std::string_view part)
{
    return text.find(part) != std::string::npos;
}

class EventStreamsTest : public ::testing::Test
{
  protected:
    std::string submitWithFiles(std::uint64_t outputBytes = 1024)
    {
        core::RunRequest request;
        request.limits.outputBytes = outputBytes;
        const auto id = std::get<core::Submitted>(service.submit(request, {})).view.run.id;
        for (const auto& [stream, name] :
             {std::pair{core::Stream::Stdout, "stdout"}, {core::Stream::Stderr, "stderr"}})
        {
            const auto path = (dir.path() / (id + name)).string();
            std::ofstream(path).flush();
            service.outputFiles[{id, stream}] = path;
        }
        return id;
    }

    void append(const std::string& id, core::Stream stream, const std::string& text)
    {
        std::ofstream(service.outputFiles.at({id, stream}), std::ios::app) << text;
    }

    test::TempDir dir{"event-streams"};
    testing::FakeRunService service;
};

TEST_F(EventStreamsTest, ReplaysAFinishedRunAndCloses)
{
    EventStreams streams;
    streams.start(service);
    const auto id = submitWithFiles();
    append(id, core::Stream::Stdout, "hello\n");
    service.start(id);
    service.finish(id, core::RunStatus::Succeeded, {"hello\n", ""});
    Connection connection;
    ASSERT_TRUE(streams.watch(connection.take(), id, {}));
    const auto text = connection.readToEnd();
    EXPECT_TRUE(text.starts_with("HTTP/1.1 200 OK\r\n")) << text;
    EXPECT_TRUE(contains(text, "Content-Type: text/event-stream")) << text;
    EXPECT_TRUE(contains(text, "id: 3-0-0\nevent: status\n")) << text;
    EXPECT_TRUE(
        contains(text, "id: 3-6-0\nevent: stdout\ndata: {\"data\":\"hello\\n\",\"offset\":0}"))
        << text;
    EXPECT_TRUE(contains(text, "id: 4-6-0\nevent: end\ndata: {")) << text;
    EXPECT_TRUE(connection.closed);
}

TEST_F(EventStreamsTest, SendsOutputAsTheFileGrowsAndEndsWithTheRun)
{
    EventStreams streams;
    streams.start(service);
    const auto id = submitWithFiles();
    service.start(id);
    Connection connection;
    ASSERT_TRUE(streams.watch(connection.take(), id, {}));
    connection.readUntil([](const std::string& text) { return contains(text, "event: status"); });
    append(id, core::Stream::Stderr, "one\n");
    const auto text =
        connection.readUntil([](const std::string& t) { return contains(t, "event: stderr"); });
    EXPECT_TRUE(contains(text, "\"data\":\"one\\n\"")) << text;
    EXPECT_FALSE(connection.closed);
    const auto view = service.finish(id, core::RunStatus::Succeeded, {"", "one\n"});
    streams.finished(view->run, "");
    const auto all = connection.readToEnd();
    EXPECT_TRUE(contains(all, "id: 4-0-4\nevent: end\n")) << all;
    EXPECT_TRUE(connection.closed);
}

TEST_F(EventStreamsTest, RefusesWatchersPastItsMaximum)
{
    EventStreams streams({1, 15s, 30s});
    streams.start(service);
    const auto id = submitWithFiles();
    Connection first;
    Connection second;
    ASSERT_TRUE(streams.watch(first.take(), id, {}));
    EXPECT_FALSE(streams.watch(second.take(), id, {}));
    EXPECT_TRUE(second.server) << "a refused watcher's connection is not taken";
    EXPECT_EQ(streams.watchers(), 1U);
}

TEST_F(EventStreamsTest, DropsAClientThatTakesNothing)
{
    EventStreams streams({4, 15s, 200ms});
    streams.start(service);
    constexpr std::uint64_t mebibyte = 1U << 20U;
    const auto id = submitWithFiles(mebibyte);
    append(id, core::Stream::Stdout, std::string(mebibyte, 'x'));
    service.start(id);
    Connection stalled;
    const int small = 1024;
    ::setsockopt(stalled.server.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(stalled.client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(streams.watch(stalled.take(), id, {}));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (streams.watchers() != 0 && std::chrono::steady_clock::now() < deadline)
    {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(streams.watchers(), 0U);
}

TEST_F(EventStreamsTest, StoppingClosesEveryStream)
{
    EventStreams streams;
    streams.start(service);
    const auto id = submitWithFiles();
    Connection connection;
    ASSERT_TRUE(streams.watch(connection.take(), id, {}));
    connection.readUntil([](const std::string& text) { return contains(text, "event: status"); });
    streams.stop();
    connection.readToEnd();
    EXPECT_TRUE(connection.closed);
    EXPECT_FALSE(streams.watch(Connection().take(), id, {}));
}

} // namespace
} // namespace pyrunner::http
