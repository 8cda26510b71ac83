#pragma once

#include "front/http/blocking_waits.hpp"
#include "front/http/event_streams.hpp"
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
#include <variant>
#include <vector>

namespace pyrunner::http
{

// Who sent a request, as the API needs to know it.
struct Caller
{
    // The tenant whose runs it may see and whose share its runs take.
    std::string tenant;
    // Sees every tenant's runs and the metrics.
    bool admin = false;
    core::TenantShare share;
    // Has a key to sign its runs' callbacks with; a tenant from a tokens file older than
    // callbacks gets one at its next `pyrunnerd token create`.
    bool signsCallbacks = true;
};

// Why a request is refused before anything else: no token, one that is not valid, or a
// client that failed too often and is locked out for a while.
struct CallerRefused
{
    enum class Kind
    {
        Missing,
        Invalid,
        Throttled,
    };
    Kind kind = Kind::Missing;
    unsigned retryAfterSeconds = 0;
};

// Tells who sent a request; not set: a server without authentication, where every request
// may do everything and runs belong to no tenant.
using Authenticate = std::function<std::variant<Caller, CallerRefused>(const Request&)>;

struct ApiOptions
{
    std::size_t maxBodyBytes = 2 * mebibyte;
    std::size_t maxCodeBytes = mebibyte;
    core::LimitPolicy limits = core::LimitPolicy::forCpus(1);
    // Counts every answer; GET /metrics shows it.
    std::shared_ptr<core::Metrics> metrics = std::make_shared<core::Metrics>();
    Authenticate authenticate = {};
    // Where GET /runs/{id}/events streams from; not set: that route answers 503.
    std::shared_ptr<EventStreams> streams = {};
    // Prefixes a callback_url must lie under; none: callback_url is refused.
    std::vector<std::string> callbackAllow = {};
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

    void submit(RouteId route, const Request& request, const Caller& caller,
                const Reply& reply) const;
    Response getRun(const std::string& id) const;
    Response getOutput(const std::string& id, core::Stream stream) const;
    Response getFile(const std::string& id, const std::string& encodedPath) const;
    Response getFilesZip(const std::string& id) const;
    Response cancelRun(const std::string& id) const;
    // Hands the connection over to the run's event stream, or answers why not.
    void streamEvents(const Request& request, const std::string& id, const Reply& reply) const;
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
    // The caller, or the answer that refuses it.
    std::variant<Caller, Response> callerOf(const Request& request) const;
    // Whether `caller` may see the run `id`; asked the same way for any id.
    bool sees(const Caller& caller, const std::string& id) const;

    core::RunService& service_;
    ApiOptions options_;
    // Shared with the completions, which may outlive a request's handling.
    std::shared_ptr<BlockingWaits> waits_ = std::make_shared<BlockingWaits>();
};

} // namespace pyrunner::http
