#pragma once

#include "common/fd.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace pyrunner::test
{

// Plays systemd's end of NOTIFY_SOCKET: what the service sends arrives here.
class NotifySocket
{
  public:
    NotifySocket()
        : path_(std::filesystem::temp_directory_path() /
                ("pyrunner-notify-" + std::to_string(::getpid()))),
          fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        path_.string().copy(address.sun_path, sizeof address.sun_path - 1);
        std::filesystem::remove(path_);
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    ~NotifySocket()
    {
        ::unsetenv("NOTIFY_SOCKET");
        std::filesystem::remove(path_);
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    NotifySocket(NotifySocket&&) = delete;
    NotifySocket& operator=(NotifySocket&&) = delete;

    // Every message received so far.
    std::vector<std::string> received()
    {
        std::vector<std::string> messages;
        std::array<char, 4096> buffer{};
        ssize_t length = 0;
        while ((length = ::recv(fd_.get(), buffer.data(), buffer.size(), 0)) > 0)
        {
            messages.emplace_back(buffer.data(), static_cast<std::size_t>(length));
        }
        return messages;
    }

  private:
    std::filesystem::path path_;
    core::UniqueFd fd_;
};

} // namespace pyrunner::test
