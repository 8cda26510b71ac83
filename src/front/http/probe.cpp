#include "front/http/probe.hpp"

#include "common/fd.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace pyrunner::http
{
namespace
{

using Deadline = std::chrono::steady_clock::time_point;

constexpr std::string_view request =
    "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
// "HTTP/1.1 200": enough to know an answer came.
constexpr std::size_t statusLineStart = 12;

std::string reachableHost(const std::string& host)
{
    if (host == "0.0.0.0")
    {
        return "127.0.0.1";
    }
    if (host == "::")
    {
        return "::1";
    }
    return host;
}

// Waits for `events` on `fd` until the deadline; false when it passed first.
bool waitFor(int fd, short events, Deadline deadline)
{
    while (true)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
        {
            return false;
        }
        pollfd watched{fd, events, 0};
        const int ready = ::poll(&watched, 1, static_cast<int>(left.count()));
        if (ready > 0)
        {
            return true;
        }
        if (ready < 0 && errno != EINTR)
        {
            return false;
        }
    }
}

core::UniqueFd connectTo(const std::string& host, std::uint16_t port, Deadline deadline)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
    {
        return {};
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    core::UniqueFd fd(
        ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
    {
        return {};
    }
    if (::connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)
    {
        return {};
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (!waitFor(fd.get(), POLLOUT, deadline) ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
    {
        return {};
    }
    return fd;
}

} // namespace

bool answersHttp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto fd = connectTo(reachableHost(host), port, deadline);
    if (!fd)
    {
        return false;
    }
    std::string_view unsent = request;
    while (!unsent.empty())
    {
        if (!waitFor(fd.get(), POLLOUT, deadline))
        {
            return false;
        }
        const auto sent = ::send(fd.get(), unsent.data(), unsent.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EINTR)
        {
            return false;
        }
        unsent.remove_prefix(sent > 0 ? static_cast<std::size_t>(sent) : 0);
    }
    std::string answer;
    std::array<char, statusLineStart> buffer{};
    while (answer.size() < statusLineStart)
    {
        if (!waitFor(fd.get(), POLLIN, deadline))
        {
            return false;
        }
        const auto got = ::recv(fd.get(), buffer.data(), statusLineStart - answer.size(), 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
        {
            return false;
        }
        answer.append(buffer.data(), got > 0 ? static_cast<std::size_t>(got) : 0);
    }
    return answer.starts_with("HTTP/1.");
}

} // namespace pyrunner::http
