#include "fake_run_service.hpp"
#include "front/http/api.hpp"

#include <gtest/gtest.h>

#include <map>

namespace pyrunner::http
{
namespace
{

using nlohmann::json;
using testing::FakeRunService;

std::string header(const Response& response, std::string_view name)
{
    for (const auto& [key, value] : response.headers)
    {
        if (key == name)
        {
            return value;
        }
    }
    return "<none>";
}

// Tokens are the callers' names: "admin" is an admin, "locked" is throttled, any other known
// name a tenant of that name.
class ApiAuthTest : public ::testing::Test
{
  protected:
    ApiAuthTest()
    {
        ApiOptions options;
        options.authenticate = [](const Request& request) -> std::variant<Caller, CallerRefused> {
            if (!request.authorization)
            {
                return CallerRefused{CallerRefused::Kind::Missing, 0};
            }
            const std::string token(*request.authorization);
            if (token == "Bearer locked")
            {
                return CallerRefused{CallerRefused::Kind::Throttled, 7};
            }
            if (token == "Bearer admin")
            {
                return Caller{"root", true, {}};
            }
            if (token == "Bearer alice" || token == "Bearer bob")
            {
                core::TenantShare share;
                share.maxQueued = 3;
                return Caller{token.substr(7), false, share};
            }
            return CallerRefused{CallerRefused::Kind::Invalid, 0};
        };
        api_.emplace(service, options);
    }

    Response call(std::string_view method, std::string_view path,
                  std::optional<std::string_view> authorization, std::string_view body = "")
    {
        Response answer;
        Request request{method, path, "application/json", body, {}};
        request.authorization = authorization;
        api_->handle(request, [&answer](Response response) { answer = std::move(response); });
        return answer;
    }

    std::string submitAs(std::string_view token)
    {
        const auto response = call("POST", "/run-json/", token, R"({"code": "1", "wait": false})");
        EXPECT_EQ(response.status, 202) << response.body;
        return json::parse(response.body)["id"];
    }

    FakeRunService service;
    std::optional<Api> api_;
};

TEST_F(ApiAuthTest, HealthAndTheApiDescriptionAreOpen)
{
    EXPECT_EQ(call("GET", "/healthz", std::nullopt).status, 200);
    EXPECT_EQ(call("GET", "/openapi.json", std::nullopt).status, 200);
}

TEST_F(ApiAuthTest, EverythingElseWithoutATokenIsAChallenge)
{
    for (const auto* path : {"/runs/abc", "/environments", "/metrics", "/nowhere"})
    {
        const auto response = call("GET", path, std::nullopt);
        EXPECT_EQ(response.status, 401) << path;
        EXPECT_EQ(header(response, "WWW-Authenticate"), R"(Bearer realm="pyrunner")");
    }
    EXPECT_EQ(call("POST", "/run-json/", std::nullopt, R"({"code": "1"})").status, 401);
    EXPECT_TRUE(service.submitted().empty());
}

TEST_F(ApiAuthTest, AnInvalidTokenSaysSo)
{
    const auto response = call("GET", "/environments", "Bearer forged");
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(header(response, "WWW-Authenticate"),
              R"(Bearer realm="pyrunner", error="invalid_token")");
    EXPECT_EQ(json::parse(response.body)["error"],
              "The token is not valid: unknown, revoked or malformed.");
}

TEST_F(ApiAuthTest, ALockedOutClientIsToldWhenToComeBack)
{
    const auto response = call("GET", "/environments", "Bearer locked");
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(header(response, "Retry-After"), "7");
}

TEST_F(ApiAuthTest, MetricsNeedAnAdmin)
{
    const auto refused = call("GET", "/metrics", "Bearer alice");
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(header(refused, "WWW-Authenticate"),
              R"(Bearer realm="pyrunner", error="insufficient_scope")");
    EXPECT_EQ(call("GET", "/metrics", "Bearer admin").status, 200);
}

TEST_F(ApiAuthTest, ARunIsSubmittedAsItsTenantWithItsShare)
{
    submitAs("Bearer alice");
    ASSERT_EQ(service.submitted().size(), 1U);
    EXPECT_EQ(service.submitted()[0].tenant, "alice");
    EXPECT_EQ(service.submitted()[0].share.maxQueued, 3U);
}

TEST_F(ApiAuthTest, AnotherTenantsRunIsAnsweredExactlyAsAnUnknownOne)
{
    const auto id = submitAs("Bearer alice");
    ASSERT_EQ(id, "run-1");
    // The same length, so that the id does not tell the bodies apart.
    const std::string unknown = "run-9";
    for (const auto* suffix : {"", "/stdout", "/stderr", "/files/a.txt", "/files.zip"})
    {
        const auto foreign = call("GET", "/runs/" + id + suffix, "Bearer bob");
        const auto missing = call("GET", "/runs/" + unknown + suffix, "Bearer bob");
        EXPECT_EQ(foreign.status, 404) << suffix;
        EXPECT_EQ(foreign.headers, missing.headers) << suffix;
        auto foreignBody = foreign.body;
        foreignBody.replace(foreignBody.find(id), id.size(), unknown);
        EXPECT_EQ(foreignBody, missing.body) << suffix;
        // The admin sees the run: only the file it never left is not there.
        EXPECT_EQ(call("GET", "/runs/" + id + suffix, "Bearer admin").status == 404,
                  std::string_view(suffix) == "/files/a.txt")
            << suffix;
    }
    EXPECT_EQ(call("GET", "/status/" + id, "Bearer bob").status, 404);
    EXPECT_EQ(call("DELETE", "/runs/" + id, "Bearer bob").status, 404);
    EXPECT_EQ(call("GET", "/runs/" + id, "Bearer alice").status, 200);
    EXPECT_EQ(call("DELETE", "/runs/" + id, "Bearer admin").status, 200);
}

} // namespace
} // namespace pyrunner::http
