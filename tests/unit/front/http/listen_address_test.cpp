#include "front/http/listen_address.hpp"

#include <gtest/gtest.h>

namespace pyrunner::http
{
namespace
{

TEST(ListenAddress, TakesHostAndPort)
{
    EXPECT_EQ(parseListenAddress("127.0.0.1:8080"), (ListenAddress{"127.0.0.1", 8080}));
    EXPECT_EQ(parseListenAddress("localhost:1"), (ListenAddress{"localhost", 1}));
}

TEST(ListenAddress, TakesBracketedIpv6)
{
    EXPECT_EQ(parseListenAddress("[::1]:9000"), (ListenAddress{"::1", 9000}));
    EXPECT_FALSE(parseListenAddress("::1:9000"));
}

TEST(ListenAddress, RefusesMissingOrOutOfRangePorts)
{
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:80x", "[]:80"})
    {
        EXPECT_FALSE(parseListenAddress(bad)) << bad;
    }
}

} // namespace
} // namespace pyrunner::http
