#include "common/fd.hpp"
#include "fake_run_service.hpp"
#include "front/http/server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <future>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace pyrunner::http
{
namespace
{

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeRunService;

struct HttpReply
{
    int status = 0;
    // Lower-case names.
    std::map<std::string, std::string> headers;
    std::string body;
};

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

core::UniqueFd connectTo(std::uint16_t port, std::chrono::seconds wait = 15s)
{
    core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const timeval timeout{wait.count(), 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    {
        return core::UniqueFd{};
    }
    return fd;
}

bool sendAll(int fd, std::string_view bytes)
{
    while (!bytes.empty())
    {
        const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent <= 0)
        {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

// Reads one response: its head, then Content-Length bytes of body (or up to EOF).
std::optional<HttpReply> readReply(int fd)
{
    std::string data;
    std::array<char, 65536> buffer{};
    std::size_t headEnd = std::string::npos;
    std::optional<std::size_t> length;
    while (true)
    {
        if (headEnd == std::string::npos)
        {
            headEnd = data.find("\r\n\r\n");
        }
        if (headEnd != std::string::npos && !length)
        {
            const auto head = lower(data.substr(0, headEnd));
            const auto at = head.find("\r\ncontent-length: ");
            length = at == std::string::npos ? SIZE_MAX : std::stoul(head.substr(at + 18));
        }
        if (length && *length != SIZE_MAX && data.size() >= headEnd + 4 + *length)
        {
            break;
        }
        const auto received = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (received <= 0)
        {
            break;
        }
        data.append(buffer.data(), static_cast<std::size_t>(received));
    }
    if (headEnd == std::string::npos)
    {
        return std::nullopt;
    }
    HttpReply reply;
    reply.status = std::stoi(data.substr(9, 3));
    auto head = std::string_view(data).substr(0, headEnd);
    head.remove_prefix(std::min(head.size(), head.find("\r\n") + 2));
    while (!head.empty())
    {
        const auto end = std::min(head.find("\r\n"), head.size());
        const auto line = head.substr(0, end);
        const auto colon = line.find(':');
        reply.headers[lower(std::string(line.substr(0, colon)))] =
            std::string(line.substr(std::min(line.size(), colon + 2)));
        head.remove_prefix(std::min(head.size(), end + 2));
    }
    reply.body = data.substr(headEnd + 4, length.value_or(SIZE_MAX));
    return reply;
}

std::string request(std::string_view method, std::string_view target, std::string_view body = "",
                    std::string_view contentType = "application/json")
{
    std::string text = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
    text += "Host: localhost\r\n";
    if (!body.empty() || method == "POST")
    {
        text += "Content-Type: " + std::string(contentType) + "\r\n";
        text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    return text + "Connection: close\r\n\r\n" + std::string(body);
}

std::optional<HttpReply> roundTrip(std::uint16_t port, const std::string& raw)
{
    const auto fd = connectTo(port);
    if (!fd || !sendAll(fd.get(), raw))
    {
        return std::nullopt;
    }
    return readReply(fd.get());
}

class ServerTest : public ::testing::Test
{
  protected:
    void startServer(ServerOptions options = {})
    {
        options.port = 0;
        options.maxBodyBytes = 4096;
        options.maxCodeBytes = 2048;
        server = std::make_unique<Server>(service, options);
        server->start();
        port = server->port();
        ASSERT_NE(port, 0);
    }

    HttpReply call(std::string_view method, std::string_view target, std::string_view body = "",
                   std::string_view contentType = "application/json")
    {
        auto reply = roundTrip(port, request(method, target, body, contentType));
        EXPECT_TRUE(reply.has_value());
        return reply.value_or(HttpReply{});
    }

    FakeRunService service;
    std::unique_ptr<Server> server;
    std::uint16_t port = 0;
};

TEST_F(ServerTest, HealthIsServedAsJson)
{
    startServer();
    const auto reply = call("GET", "/healthz");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(reply.body)["status"], "ok");
}

TEST_F(ServerTest, ANonBlockingSubmissionIsAcceptedWithALocation)
{
    startServer();
    const auto reply = call("POST", "/run-json/?wait=false", R"json({"code": "print(1)"})json");
    EXPECT_EQ(reply.status, 202);
    EXPECT_EQ(reply.headers.at("location"), "/runs/run-1");
    EXPECT_EQ(reply.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(reply.body)["id"], "run-1");
}

TEST_F(ServerTest, ABlockingSubmissionIsAnsweredFromTheThreadThatEndsTheRun)
{
    startServer();
    auto pending = std::async(std::launch::async, [this] {
        return call("POST", "/run-file", "print('hi')", "text/x-python");
    });
    ASSERT_TRUE(service.waitForSubmissions(1));
    std::thread([this] {
        service.finish("run-1", core::RunStatus::Succeeded, {"hi\n", ""});
    }).join();
    const auto reply = pending.get();
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(json::parse(reply.body)["stdout"], "hi\n");
    EXPECT_EQ(json::parse(reply.body)["status"], "succeeded");
}

TEST_F(ServerTest, ABlockingSubmissionOutlivesTheRequestTimeout)
{
    ServerOptions options;
    options.requestTimeout = 1s;
    startServer(options);
    auto pending = std::async(std::launch::async, [this] {
        return call("POST", "/run-json/", R"json({"code": "import time; time.sleep(2)"})json");
    });
    ASSERT_TRUE(service.waitForSubmissions(1));
    std::this_thread::sleep_for(2500ms);
    service.finish("run-1", core::RunStatus::Succeeded, {});
    EXPECT_EQ(pending.get().status, 200);
}

TEST_F(ServerTest, AClientThatStallsIsCutOff)
{
    ServerOptions options;
    options.requestTimeout = 1s;
    startServer(options);
    const auto fd = connectTo(port);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(sendAll(fd.get(), "POST /run-json/ HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"));
    const auto started = std::chrono::steady_clock::now();
    const auto reply = readReply(fd.get());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 408);
}

TEST_F(ServerTest, OutputIsServedAsExactBytes)
{
    startServer();
    call("POST", "/run-json/", R"({"code": "", "wait": false})");
    const std::string bytes("\x00\xFF\r\n", 4);
    service.finish("run-1", core::RunStatus::Succeeded, {bytes, ""});
    const auto reply = call("GET", "/runs/run-1/stdout/");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers.at("content-type"), "application/octet-stream");
    EXPECT_EQ(reply.body, bytes);
}

TEST_F(ServerTest, ErrorsAreJson)
{
    startServer();
    const auto notFound = call("GET", "/nowhere");
    EXPECT_EQ(notFound.status, 404);
    EXPECT_EQ(notFound.headers.at("content-type"), "application/json");
    EXPECT_TRUE(json::parse(notFound.body)["error"].is_string());

    const auto notAllowed = call("PATCH", "/runs/abc");
    EXPECT_EQ(notAllowed.status, 405);
    EXPECT_EQ(notAllowed.headers.at("allow"), "GET, DELETE");

    service.refuseWith = core::SubmitError::QueueFull;
    const auto full = call("POST", "/run-json/", R"({"code": ""})");
    EXPECT_EQ(full.status, 429);
    EXPECT_EQ(full.headers.at("retry-after"), "7");
}

TEST_F(ServerTest, ABodyOverTheLimitIsTooLargeInJson)
{
    startServer();
    const auto reply = call("POST", "/run-file/", std::string(5000, 'x'), "text/plain");
    EXPECT_EQ(reply.status, 413);
    EXPECT_EQ(reply.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(reply.body)["error"],
              "The request body is 5000 bytes; the limit is 4096 bytes.");
}

TEST_F(ServerTest, ADeclaredBodyPastTheLimitIsRefusedBeforeItArrives)
{
    startServer();
    const auto fd = connectTo(port);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(sendAll(fd.get(), "POST /run-file/ HTTP/1.1\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 200000\r\n\r\nprint(1)\n"));
    const auto reply = readReply(fd.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(json::parse(reply->body)["error"],
              "The request body is 200000 bytes; the limit is 4096 bytes.");
    // The server has closed its side; what the client sends next is not parsed.
    ASSERT_TRUE(sendAll(fd.get(), "GET /healthz HTTP/1.1\r\n\r\n"));
    std::array<char, 16> rest{};
    EXPECT_EQ(::recv(fd.get(), rest.data(), rest.size(), 0), 0);
}

TEST_F(ServerTest, AnUnparseableRequestIs400InJson)
{
    startServer();
    const auto reply =
        roundTrip(port, "POST /run-json/ HTTP/1.1\r\nContent-Type: application/json\r\n"
                        "Content-Length: -5\r\n\r\n{}");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400);
    EXPECT_EQ(reply->headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(reply->body)["error"],
              "The request is not valid HTTP/1.1 (a header could not be read).");
}

TEST_F(ServerTest, APortInUseFailsToStart)
{
    startServer();
    ServerOptions options;
    options.port = port;
    Server second(service, options);
    EXPECT_THROW(second.start(), std::runtime_error);
}

TEST_F(ServerTest, AnIpv6AddressNeedsNoBrackets)
{
    ServerOptions options;
    options.address = "::1";
    startServer(options);
    EXPECT_NE(server->port(), 0);
}

TEST_F(ServerTest, AServerStartsOnlyOnce)
{
    startServer();
    EXPECT_THROW(server->start(), std::logic_error);
}

TEST_F(ServerTest, ShutdownTellsABlockingCallerWhereToPoll)
{
    startServer();
    const auto fd = connectTo(port, 5s);
    ASSERT_TRUE(sendAll(fd.get(), request("POST", "/run-json/", R"({"code": ""})")));
    ASSERT_TRUE(service.waitForSubmissions(1));
    server->shutdown();
    // The run ending later reaches nobody, and nothing breaks.
    service.finish("run-1", core::RunStatus::Succeeded, {});
    server.reset();
    const auto reply = readReply(fd.get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_EQ(reply->headers.at("location"), "/runs/run-1");
    EXPECT_EQ(json::parse(reply->body)["error"],
              "The server is stopping; the run goes on: GET /runs/run-1 for its result.");
}

} // namespace
} // namespace pyrunner::http
