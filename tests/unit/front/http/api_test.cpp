#include "fake_run_service.hpp"
#include "front/http/api.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pyrunner::http
{
namespace
{

using nlohmann::json;
using testing::FakeRunService;

// Collects what the API answered.
struct Answers
{
    std::vector<Response> responses;

    Reply reply()
    {
        return [this](Response response) { responses.push_back(std::move(response)); };
    }

    const Response& only() const
    {
        EXPECT_EQ(responses.size(), 1U);
        return responses.at(0);
    }
};

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

json body(const Response& response)
{
    EXPECT_EQ(response.contentType, "application/json");
    return json::parse(response.body);
}

class ApiTest : public ::testing::Test
{
  protected:
    Response call(std::string_view method, std::string_view path, std::string_view bodyText = "",
                  std::string_view contentType = "application/json",
                  std::optional<std::string_view> wait = {})
    {
        Answers answers;
        api.handle(Request{method, path, contentType, bodyText, wait}, answers.reply());
        return answers.only();
    }

    std::string submitNoWait()
    {
        const auto response =
            call("POST", "/run-json/", R"json({"code": "print(1)", "wait": false})json");
        return body(response)["id"];
    }

    FakeRunService service;
    Api api{service, ApiOptions{1024, 256, core::LimitPolicy::forCpus(1)}};
};

TEST_F(ApiTest, EnvironmentsAreListedWithTheirPythonVersionAndPackages)
{
    const auto response = call("GET", "/environments");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body(response), json::parse(R"({"environments": [
        {"name": "default", "kind": "shipped", "python_version": "3.11.2", "packages": []},
        {"name": "science", "kind": "shipped", "python_version": "3.11.2",
         "packages": [{"name": "numpy", "version": "1.24.2"}]}]})"));
}

TEST_F(ApiTest, ASubmissionWithoutWaitIsAcceptedAtOnce)
{
    const auto response =
        call("POST", "/run-json", R"json({"code": "print(1)", "wait": false})json");
    EXPECT_EQ(response.status, 202);
    EXPECT_EQ(header(response, "Location"), "/runs/run-1");
    EXPECT_EQ(body(response)["id"], "run-1");
    EXPECT_EQ(body(response)["status"], "queued");
    ASSERT_EQ(service.submitted().size(), 1U);
    EXPECT_EQ(service.submitted()[0].code, "print(1)");
    EXPECT_FALSE(service.hasCompletion("run-1"));
}

TEST_F(ApiTest, ABlockingSubmissionIsAnsweredWhenTheRunEnds)
{
    Answers answers;
    api.handle(
        Request{"POST", "/run-json/", "application/json", R"json({"code": "print(1)"})json", {}},
        answers.reply());
    EXPECT_TRUE(answers.responses.empty());
    service.finish("run-1", core::RunStatus::Succeeded, {"1\n", ""});
    const auto& response = answers.only();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body(response)["status"], "succeeded");
    EXPECT_EQ(body(response)["stdout"], "1\n");
    EXPECT_EQ(header(response, "Location"), "<none>");
}

TEST_F(ApiTest, AFailedScriptIsStillA200)
{
    Answers answers;
    api.handle(Request{"POST", "/run-json/", "application/json", R"({"code": "1/0"})", {}},
               answers.reply());
    service.finish("run-1", core::RunStatus::Failed, {"", "ZeroDivisionError"});
    EXPECT_EQ(answers.only().status, 200);
    EXPECT_EQ(body(answers.only())["status"], "failed");
}

TEST_F(ApiTest, TheWaitQueryMakesASubmissionNonBlocking)
{
    const auto response =
        call("POST", "/run-file/", "print(2)", "text/x-python", std::string_view("false"));
    EXPECT_EQ(response.status, 202);
    EXPECT_EQ(service.submitted().at(0).code, "print(2)");
}

TEST_F(ApiTest, AMultipartUploadIsSubmitted)
{
    const std::string form = "--x\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"a.py\"\r\n\r\nprint(3)\r\n--x\r\nContent-Disposition: "
                             "form-data; name=\"options\"\r\n\r\n{\"wait\": false}\r\n--x--\r\n";
    const auto response = call("POST", "/run-file", form, "multipart/form-data; boundary=x");
    EXPECT_EQ(response.status, 202);
    EXPECT_EQ(service.submitted().at(0).code, "print(3)");
}

TEST_F(ApiTest, ParseErrorsAreAnsweredWithTheirStatus)
{
    EXPECT_EQ(call("POST", "/run-json/", "{").status, 400);
    EXPECT_EQ(call("POST", "/run-json/", "{}", "text/plain").status, 415);
    EXPECT_EQ(call("POST", "/run-file/", "x", "image/png").status, 415);
    EXPECT_EQ(call("POST", "/run-file/", std::string(257, 'x'), "text/plain").status, 413);
    const auto response = call("POST", "/run-json/", R"({"code": "", "environment": "x"})");
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(body(response)["error"], "Unknown environment \"x\"; available: default, science.");
    EXPECT_TRUE(service.submitted().empty());
}

TEST_F(ApiTest, ABodyOverTheLimitIsTooLarge)
{
    const auto response = call("POST", "/run-json/", std::string(1025, ' '));
    EXPECT_EQ(response.status, 413);
    EXPECT_EQ(body(response)["error"], "The request body is 1025 bytes; the limit is 1024 bytes.");
}

TEST_F(ApiTest, AFullQueueAsksToRetryLater)
{
    service.refuseWith = core::SubmitError::QueueFull;
    const auto response = call("POST", "/run-json/", R"({"code": ""})");
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(header(response, "Retry-After"), "7");
    EXPECT_EQ(body(response)["error"], "The queue is full; retry in 7 seconds.");
}

TEST_F(ApiTest, AnUnreachableSystemdIsUnavailable)
{
    service.refuseWith = core::SubmitError::Unavailable;
    const auto response = call("POST", "/run-json/", R"({"code": "", "wait": false})");
    EXPECT_EQ(response.status, 503);
    EXPECT_TRUE(body(response)["error"].is_string());
}

TEST_F(ApiTest, ARunCanBeReadUnderRunsAndStatus)
{
    const auto id = submitNoWait();
    for (const auto& path : {"/runs/" + id, "/runs/" + id + "/", "/status/" + id})
    {
        const auto response = call("GET", path);
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(body(response)["id"], id);
    }
}

TEST_F(ApiTest, AnUnknownRunIsNotFound)
{
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/runs/nope"},
                                                          {"GET", "/status/nope"},
                                                          {"GET", "/runs/nope/stdout"},
                                                          {"GET", "/runs/nope/stderr"},
                                                          {"DELETE", "/runs/nope"}})
    {
        const auto response = call(method, path);
        EXPECT_EQ(response.status, 404) << method << ' ' << path;
        EXPECT_EQ(body(response)["error"], "No run has the id \"nope\".");
    }
}

TEST_F(ApiTest, OutputIsServedAsExactBytes)
{
    const auto id = submitNoWait();
    const std::string bytes("\xFF\0out", 5);
    service.finish(id, core::RunStatus::Succeeded, {bytes, "err"});
    const auto out = call("GET", "/runs/" + id + "/stdout");
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.contentType, "application/octet-stream");
    EXPECT_EQ(out.body, bytes);
    EXPECT_EQ(call("GET", "/runs/" + id + "/stderr/").body, "err");
}

TEST_F(ApiTest, DeleteCancelsAndAnswersWithTheRun)
{
    const auto id = submitNoWait();
    const auto response = call("DELETE", "/runs/" + id);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body(response)["status"], "cancelled");
}

TEST_F(ApiTest, CancellingABlockingRunAnswersItsWaiter)
{
    Answers waiter;
    api.handle(Request{"POST", "/run-json/", "application/json", R"({"code": ""})", {}},
               waiter.reply());
    EXPECT_EQ(call("DELETE", "/runs/run-1").status, 200);
    EXPECT_EQ(body(waiter.only())["status"], "cancelled");
}

TEST_F(ApiTest, HealthReportsTheQueueAndTheLayers)
{
    const auto response = call("GET", "/healthz");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body(response), json::parse(R"({"status": "ok", "running": 1, "queued": 2,
                                              "max_running": 4, "max_queued": 16,
                                              "layers": {"seccomp": true}})"));
}

TEST_F(ApiTest, HealthWithoutSystemdIsUnavailable)
{
    service.healthReport.systemdReachable = false;
    const auto response = call("GET", "/healthz/");
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(body(response)["status"], "unavailable");
    EXPECT_TRUE(body(response)["error"].is_string());
}

TEST_F(ApiTest, AnUnknownPathIsNotFoundInJson)
{
    const auto response = call("GET", "/nope");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(body(response)["error"], "There is nothing at /nope.");
}

TEST_F(ApiTest, AWrongMethodIsNotAllowedWithAnAllowHeader)
{
    const auto response = call("PUT", "/runs/abc");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header(response, "Allow"), "GET, DELETE");
    EXPECT_EQ(body(response)["error"], "PUT is not allowed on /runs/abc; allowed: GET, DELETE.");
}

// A service whose every call fails, as a broken lifecycle layer might.
class ThrowingRunService : public FakeRunService
{
  public:
    std::optional<core::RunView> find(const std::string& /*id*/) const override
    {
        throw std::runtime_error("store is corrupt");
    }
};

TEST(ApiFailures, AnExceptionBecomesA500InJson)
{
    ThrowingRunService service;
    const Api api{service, ApiOptions{}};
    Answers answers;
    api.handle(Request{"GET", "/runs/abc", "", "", {}}, answers.reply());
    EXPECT_EQ(answers.only().status, 500);
    EXPECT_EQ(body(answers.only())["error"],
              "The server failed to handle this request; the failure has been logged.");
}

TEST(ApiFailures, AReplyThatThrowsDoesNotReachTheRunThread)
{
    FakeRunService service;
    const Api api{service, ApiOptions{}};
    int calls = 0;
    api.handle(Request{"POST", "/run-json/", "application/json", R"({"code": ""})", {}},
               [&calls](const Response& /*response*/) {
        ++calls;
        throw std::runtime_error("client went away");
    });
    EXPECT_NO_THROW(service.finish("run-1", core::RunStatus::Succeeded, {}));
    EXPECT_EQ(calls, 1);
}

TEST(HttpRefusals, AClientFaultKeepsItsStatus)
{
    const auto response = malformedRequest(415, "Unknown media type");
    EXPECT_EQ(response.status, 415);
    EXPECT_EQ(body(response)["error"], "The request is not valid HTTP/1.1 (Unknown media type).");
}

TEST(HttpRefusals, AServerStatusFromTheParserBecomes400)
{
    // The library's parser failing on a request is the request's fault, never a 500.
    EXPECT_EQ(malformedRequest(500, "length_error").status, 400);
    EXPECT_EQ(malformedRequest(505, "version").status, 400);
}

TEST(HttpRefusals, TooLargeNamesTheSizeAndTheLimit)
{
    EXPECT_EQ(body(bodyTooLarge(10, 4))["error"],
              "The request body is 10 bytes; the limit is 4 bytes.");
    EXPECT_EQ(requestTooLarge(4).status, 413);
}

class ApiEventsTest : public ApiTest
{
  protected:
    Response events(const std::string& id, std::optional<std::string_view> lastEventId = {})
    {
        Answers answers;
        path = "/runs/" + id + "/events";
        Request request{"GET", path, "", "", {}};
        request.lastEventId = lastEventId;
        request.takeConnection = [] { return core::UniqueFd(); };
        api.handle(request, answers.reply());
        return answers.only();
    }

    std::string path;
};

TEST_F(ApiEventsTest, AnUnknownRunIsA404)
{
    EXPECT_EQ(events("nosuchrun").status, 404);
}

TEST_F(ApiEventsTest, ALastEventIdThatIsNoIdIsA400)
{
    const auto id = submitNoWait();
    const auto response = events(id, "3-x-0");
    EXPECT_EQ(response.status, 400);
    EXPECT_NE(body(response)["error"].get<std::string>().find("Last-Event-ID"), std::string::npos);
}

TEST_F(ApiEventsTest, AfterTheEndEventNothingFollows)
{
    const auto id = submitNoWait();
    EXPECT_EQ(events(id, "4-10-0").status, 204);
}

TEST_F(ApiEventsTest, WithoutAStreamsLoopTheAnswerIs503)
{
    EXPECT_EQ(events(submitNoWait()).status, 503);
}

TEST_F(ApiEventsTest, AConnectionThatCannotBeTakenIs503)
{
    auto streams = std::make_shared<EventStreams>();
    streams->start(service);
    Api withStreams{service, ApiOptions{1024,
                                        256,
                                        core::LimitPolicy::forCpus(1),
                                        std::make_shared<core::Metrics>(),
                                        {},
                                        streams}};
    Answers answers;
    path = "/runs/" + submitNoWait() + "/events";
    Request request{"GET", path, "", "", {}};
    request.takeConnection = [] { return core::UniqueFd(); };
    withStreams.handle(request, answers.reply());
    EXPECT_EQ(answers.only().status, 503);
    EXPECT_EQ(header(answers.only(), "Retry-After"), "5");
    EXPECT_EQ(streams->watchers(), 0U);
}

} // namespace
} // namespace pyrunner::http
