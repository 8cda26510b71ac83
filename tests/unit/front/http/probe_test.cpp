#include "common/fd.hpp"
#include "fake_run_service.hpp"
#include "front/http/probe.hpp"
#include "front/http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace pyrunner::http
{
namespace
{

using namespace std::chrono_literals;

// A loopback socket that accepts connections (the kernel does) but never answers, as a
// server whose event loop hangs.
class SilentListener
{
  public:
    SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
        EXPECT_EQ(::listen(fd_.get(), 4), 0);
        EXPECT_EQ(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
        port_ = ntohs(address.sin_port);
    }

    std::uint16_t port() const { return port_; }

  private:
    core::UniqueFd fd_;
    std::uint16_t port_ = 0;
};

class ProbeTest : public ::testing::Test
{
  protected:
    ProbeTest() : server(service, options()) { server.start(); }

    static ServerOptions options()
    {
        ServerOptions options;
        options.port = 0;
        return options;
    }

    testing::FakeRunService service;
    Server server;
};

TEST_F(ProbeTest, AServingServerAnswers)
{
    EXPECT_TRUE(answersHttp("127.0.0.1", server.port(), 5s));
}

TEST_F(ProbeTest, AServerThatCannotReachSystemdStillAnswers)
{
    service.healthReport.systemdReachable = false;
    EXPECT_TRUE(answersHttp("127.0.0.1", server.port(), 5s));
}

TEST_F(ProbeTest, AWildcardAddressIsAskedOnTheLoopback)
{
    EXPECT_TRUE(answersHttp("0.0.0.0", server.port(), 5s));
}

TEST(Probe, AListenerThatNeverAnswersFailsAtTheTimeout)
{
    const SilentListener silent;
    EXPECT_FALSE(answersHttp("127.0.0.1", silent.port(), 200ms));
}

TEST(Probe, NothingListeningFails)
{
    std::uint16_t port = 0;
    {
        const SilentListener closed;
        port = closed.port();
    }
    EXPECT_FALSE(answersHttp("127.0.0.1", port, 1s));
}

} // namespace
} // namespace pyrunner::http
