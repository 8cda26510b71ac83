#include "fake_run_service.hpp"
#include "front/http/api.hpp"
#include "front/http/openapi.hpp"
#include "front/http/router.hpp"
#include "front/http/run_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace pyrunner::http
{
namespace
{

using nlohmann::json;

json document()
{
    return json::parse(openApiDocument());
}

std::string withoutTrailingSlash(std::string path)
{
    if (path.size() > 1 && path.back() == '/')
    {
        path.pop_back();
    }
    return path;
}

std::string lowercase(std::string_view text)
{
    std::string lower(text);
    for (auto& c : lower)
    {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return lower;
}

// Every "$ref" anywhere below `node`.
void collectRefs(const json& node, std::set<std::string>& refs)
{
    if (node.is_object())
    {
        for (const auto& [key, value] : node.items())
        {
            if (key == "$ref" && value.is_string())
            {
                refs.insert(value.get<std::string>());
            }
            collectRefs(value, refs);
        }
    }
    else if (node.is_array())
    {
        for (const auto& value : node)
        {
            collectRefs(value, refs);
        }
    }
}

TEST(OpenApi, IsTheFileInDocsByteForByte)
{
    std::ifstream file(PYRUNNER_OPENAPI_PATH, std::ios::binary);
    ASSERT_TRUE(file) << PYRUNNER_OPENAPI_PATH;
    std::ostringstream bytes;
    bytes << file.rdbuf();
    EXPECT_EQ(openApiDocument(), bytes.str());
}

TEST(OpenApi, IsAnOpenApi3Document)
{
    const auto doc = document();
    EXPECT_TRUE(doc.at("openapi").get<std::string>().starts_with("3.0."));
    EXPECT_TRUE(doc.at("info").contains("title"));
    EXPECT_TRUE(doc.at("info").contains("version"));
    EXPECT_TRUE(doc.at("paths").is_object());
}

TEST(OpenApi, DescribesEveryRouteTheRouterKnows)
{
    const auto paths = document().at("paths");
    std::map<std::string, json> byPath;
    for (const auto& [path, item] : paths.items())
    {
        byPath[withoutTrailingSlash(path)] = item;
    }
    for (const auto& spec : routeTable())
    {
        SCOPED_TRACE(std::string(spec.method) + " " + spec.path);
        ASSERT_TRUE(byPath.contains(spec.path));
        const auto& item = byPath.at(spec.path);
        ASSERT_TRUE(item.contains(lowercase(spec.method)));
        EXPECT_TRUE(item.at(lowercase(spec.method)).at("responses").contains("200"));
    }
}

TEST(OpenApi, EveryReferenceResolves)
{
    const auto doc = document();
    std::set<std::string> refs;
    collectRefs(doc, refs);
    EXPECT_FALSE(refs.empty());
    for (const auto& ref : refs)
    {
        SCOPED_TRACE(ref);
        ASSERT_TRUE(ref.starts_with("#/"));
        EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1))));
    }
}

TEST(OpenApi, RunSchemaHasExactlyTheFieldsOfTheRunObject)
{
    const auto run = document().at("components").at("schemas").at("Run");
    const core::RunView view;
    const auto runObject = runToJson(view);
    std::set<std::string> served;
    for (const auto& [key, value] : runObject.items())
    {
        served.insert(key);
    }
    std::set<std::string> documented;
    for (const auto& [key, value] : run.at("properties").items())
    {
        documented.insert(key);
    }
    EXPECT_EQ(documented, served);
    EXPECT_EQ(run.at("required").get<std::set<std::string>>(), served);
}

TEST(OpenApi, IsServedAtItsRoute)
{
    testing::FakeRunService service;
    const Api api{service, ApiOptions{}};
    Response answer;
    api.handle(Request{"GET", "/openapi.json", "", "", {}},
               [&answer](Response response) { answer = std::move(response); });
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.contentType, "application/json");
    EXPECT_EQ(answer.body, openApiDocument());
}

} // namespace
} // namespace pyrunner::http
