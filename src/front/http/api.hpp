#pragma once

#include "front/http/blocking_waits.hpp"
#include "front/http/message.hpp"
#include "front/http/request_parser.hpp"
#include "front/http/router.hpp"
#include "front/runs/metrics.hpp"
#include "front/runs/run_service.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pyrunner::http
{

struct ApiOptions
{
    std::size_t maxBodyBytes = 2 * mebibyte;
    std::size_t maxCodeBytes = mebibyte;
    core::LimitPolicy limits = core::LimitPolicy::forCpus(1);
    // Counts every answer; GET /metrics shows it.
    std::shared_ptr<core::Metrics> metrics = std::make_shared<core::Metrics>();
};

Response jsonResponse(int status, const nlohmann::json& body);
Response errorResponse(int status, std::string_view message);
// A body past the limit, declared or received.
Response bodyTooLarge(std::uint64_t bytes, std::size_t limit);
// A request that outgrew the buffer before its body's size was known (a chunked body).
Response requestTooLarge(std::size_t limit);
// A request the HTTP library could not parse: its status when that is a 4xx (it names the
// fault), 400 otherwise, with the library's reason in a sentence.
Response malformedRequest(int status, std::string_view reason);

// The API's behaviour, one named handler per route, over a RunService.
class Api
{
  public:
    Api(core::RunService& service, const ApiOptions& options);

    // Answers at once, or for a blocking submission when its run ends. Never throws:
    // a failure inside is logged and answered with 500.
    void handle(const Request& request, const Reply& reply) const;

    void submit(RouteId route, const Request& request, const Reply& reply) const;
    Response getRun(const std::string& id) const;
    Response getOutput(const std::string& id, core::Stream stream) const;
    Response getFile(const std::string& id, const std::string& encodedPath) const;
    Response getFilesZip(const std::string& id) const;
    Response cancelRun(const std::string& id) const;
    Response health() const;
    Response metrics() const;
    static Response openApi();
    Response environments() const;
    // Answers every blocking submission still waiting with 503 and where to poll, and
    // every later one at once: the server is stopping. Waits up to `grace` for submissions
    // in progress.
    void stopWaiting(std::chrono::milliseconds grace) const;

    const ApiOptions& options() const { return options_; }

  private:
    core::RunService& service_;
    ApiOptions options_;
    // Shared with the completions, which may outlive a request's handling.
    std::shared_ptr<BlockingWaits> waits_ = std::make_shared<BlockingWaits>();
};

} // namespace pyrunner::http
