#include "front/http/router.hpp"

#include <gtest/gtest.h>

namespace pyrunner::http
{
namespace
{

Matched matched(std::string_view method, std::string_view path)
{
    auto result = route(method, path);
    EXPECT_TRUE(std::holds_alternative<Matched>(result)) << method << ' ' << path;
    return std::holds_alternative<Matched>(result) ? std::get<Matched>(result)
                                                   : Matched{RouteId::Health, "unmatched"};
}

bool notFound(std::string_view method, std::string_view path)
{
    return std::holds_alternative<NotFound>(route(method, path));
}

std::string allowed(std::string_view method, std::string_view path)
{
    auto result = route(method, path);
    EXPECT_TRUE(std::holds_alternative<MethodNotAllowed>(result)) << method << ' ' << path;
    return std::holds_alternative<MethodNotAllowed>(result)
               ? std::get<MethodNotAllowed>(result).allow
               : std::string{};
}

TEST(Router, EveryRouteOfTheContractMatches)
{
    EXPECT_EQ(matched("POST", "/run-json").id, RouteId::RunJson);
    EXPECT_EQ(matched("POST", "/run-file").id, RouteId::RunFile);
    EXPECT_EQ(matched("GET", "/runs/abc").id, RouteId::GetRun);
    EXPECT_EQ(matched("GET", "/status/abc").id, RouteId::GetRun);
    EXPECT_EQ(matched("DELETE", "/runs/abc").id, RouteId::CancelRun);
    EXPECT_EQ(matched("GET", "/runs/abc/stdout").id, RouteId::GetStdout);
    EXPECT_EQ(matched("GET", "/runs/abc/stderr").id, RouteId::GetStderr);
    EXPECT_EQ(matched("GET", "/healthz").id, RouteId::Health);
    EXPECT_EQ(matched("GET", "/environments").id, RouteId::Environments);
}

TEST(Router, TrailingSlashIsOptional)
{
    EXPECT_EQ(matched("POST", "/run-json/").id, RouteId::RunJson);
    EXPECT_EQ(matched("POST", "/run-file/").id, RouteId::RunFile);
    EXPECT_EQ(matched("GET", "/runs/abc/").runId, "abc");
    EXPECT_EQ(matched("GET", "/runs/abc/stdout/").id, RouteId::GetStdout);
    EXPECT_EQ(matched("GET", "/healthz/").id, RouteId::Health);
}

TEST(Router, OnlyOneTrailingSlashIsOptional)
{
    EXPECT_TRUE(notFound("POST", "/run-json//"));
    EXPECT_TRUE(notFound("GET", "/runs//abc"));
    EXPECT_TRUE(notFound("GET", "//healthz"));
}

TEST(Router, TheRunIdIsCaptured)
{
    EXPECT_EQ(matched("GET", "/runs/A-z_09").runId, "A-z_09");
    EXPECT_EQ(matched("DELETE", "/runs/x1/").runId, "x1");
    EXPECT_EQ(matched("GET", "/status/x2").runId, "x2");
    EXPECT_EQ(matched("GET", "/runs/x3/stderr").runId, "x3");
    EXPECT_EQ(matched("GET", "/healthz").runId, "");
}

TEST(Router, RunIdsThatAreNotUrlSafeAreNotFound)
{
    EXPECT_TRUE(notFound("GET", "/runs/a.b"));
    EXPECT_TRUE(notFound("GET", "/runs/a%2Fb"));
    EXPECT_TRUE(notFound("GET", "/runs/.."));
    EXPECT_TRUE(notFound("GET", "/runs/a b"));
    EXPECT_TRUE(notFound("GET", std::string_view("/runs/a\0b", 9)));
    EXPECT_TRUE(notFound("GET", "/runs/\xC3\xA9"));
}

TEST(Router, RunIdsHaveABoundedLength)
{
    EXPECT_EQ(matched("GET", "/runs/" + std::string(maxRunIdLength, 'a')).id, RouteId::GetRun);
    EXPECT_TRUE(notFound("GET", "/runs/" + std::string(maxRunIdLength + 1, 'a')));
}

TEST(Router, UnknownPathsAreNotFound)
{
    EXPECT_TRUE(notFound("GET", "/"));
    EXPECT_TRUE(notFound("GET", ""));
    EXPECT_TRUE(notFound("GET", "runs/abc"));
    EXPECT_TRUE(notFound("GET", "/runs"));
    EXPECT_TRUE(notFound("GET", "/runs/abc/stdin"));
    EXPECT_TRUE(notFound("GET", "/runs/abc/stdout/more"));
    EXPECT_TRUE(notFound("POST", "/run-python"));
    EXPECT_TRUE(notFound("GET", "/RUNS/abc"));
}

TEST(Router, AWrongMethodListsTheAllowedOnes)
{
    EXPECT_EQ(allowed("GET", "/run-json/"), "POST");
    EXPECT_EQ(allowed("PUT", "/run-file"), "POST");
    EXPECT_EQ(allowed("POST", "/runs/abc"), "GET, DELETE");
    EXPECT_EQ(allowed("POST", "/runs/abc/stdout"), "GET");
    EXPECT_EQ(allowed("DELETE", "/healthz"), "GET");
    EXPECT_EQ(allowed("HEAD", "/healthz"), "GET");
}

TEST(Router, StatusIsAReadOnlyAlias)
{
    EXPECT_EQ(allowed("DELETE", "/status/abc"), "GET");
}

TEST(Router, MethodsAreCaseSensitive)
{
    EXPECT_EQ(allowed("get", "/healthz"), "GET");
}

} // namespace
} // namespace pyrunner::http
