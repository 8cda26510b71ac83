#include "front/http/api.hpp"

#include "common/utf8.hpp"
#include "front/http/metrics_text.hpp"
#include "front/http/openapi.hpp"
#include "front/http/run_files_http.hpp"
#include "front/http/run_json.hpp"

#include <algorithm>
#include <iostream>

namespace pyrunner::http
{

using core::excerpt;
namespace
{

constexpr std::string_view internalError =
    "The server failed to handle this request; the failure has been logged.";

Response unknownRun(const std::string& id)
{
    return errorResponse(404, "No run has the id \"" + id + "\".");
}

Response runResponse(int status, const core::RunView& view)
{
    return jsonResponse(status, runToJson(view));
}

Response tooManyRequests(std::string_view message, unsigned retryAfterSeconds)
{
    auto response = errorResponse(429, std::string(message) + "; retry in " +
                                           std::to_string(retryAfterSeconds) + " seconds.");
    response.headers.emplace_back("Retry-After", std::to_string(retryAfterSeconds));
    return response;
}

Response submitErrorResponse(core::SubmitError error, unsigned retryAfterSeconds)
{
    switch (error)
    {
    case core::SubmitError::QueueFull:
        return tooManyRequests("The queue is full", retryAfterSeconds);
    case core::SubmitError::TenantQueueFull:
        return tooManyRequests("You have as many runs queued as your share allows (max_queued)",
                               retryAfterSeconds);
    case core::SubmitError::Unavailable:
        break;
    }
    return errorResponse(503, "The server cannot reach systemd to start runs; try again later.");
}

// RFC 6750: the scheme, and what was wrong with the token when one came.
Response unauthorized(std::string_view message, std::string_view challenge)
{
    auto response = errorResponse(401, message);
    response.headers.emplace_back("WWW-Authenticate", std::string(challenge));
    return response;
}

// Open to anyone: a load balancer's health check, and the API's own description.
bool isOpen(RouteId route)
{
    return route == RouteId::Health || route == RouteId::OpenApi;
}

// Runs on whichever thread ends the run: nothing may escape into it.
void replyWithFinishedRun(const Reply& reply, const core::RunView& view) noexcept
{
    try
    {
        reply(runResponse(200, view));
    }
    catch (const std::exception& error)
    {
        std::cerr << "pyrunner: answering for run " << view.run.id << " failed: " << error.what()
                  << '\n';
    }
}

} // namespace

Response jsonResponse(int status, const nlohmann::json& body)
{
    return Response{status, "application/json", dumpJson(body), {}};
}

Response errorResponse(int status, std::string_view message)
{
    return jsonResponse(status, errorJson(message));
}

Response bodyTooLarge(std::uint64_t bytes, std::size_t limit)
{
    return errorResponse(413, "The request body is " + std::to_string(bytes) +
                                  " bytes; the limit is " + std::to_string(limit) + " bytes.");
}

Response requestTooLarge(std::size_t limit)
{
    return errorResponse(413, "The request is larger than the body limit of " +
                                  std::to_string(limit) + " bytes.");
}

Response malformedRequest(int status, std::string_view reason)
{
    const bool clientFault = status >= 400 && status < 500;
    return errorResponse(clientFault ? status : 400,
                         "The request is not valid HTTP/1.1 (" + excerpt(reason) + ").");
}

Api::Api(core::RunService& service, const ApiOptions& options)
    : service_(service), options_(options)
{
}

void Api::handle(const Request& request, const Reply& uncounted) const
{
    const Reply reply = [metrics = options_.metrics, uncounted](Response response) {
        metrics->httpResponse(response.status);
        uncounted(std::move(response));
    };
    try
    {
        const auto matched = route(request.method, request.path);
        const auto* found = std::get_if<Matched>(&matched);
        Caller caller{"", true, {}};
        if (found == nullptr || !isOpen(found->id))
        {
            auto known = callerOf(request);
            if (auto* refusal = std::get_if<Response>(&known))
            {
                reply(std::move(*refusal));
                return;
            }
            caller = std::get<Caller>(std::move(known));
        }
        if (std::holds_alternative<NotFound>(matched))
        {
            reply(errorResponse(404, "There is nothing at " + excerpt(request.path) + "."));
            return;
        }
        if (const auto* notAllowed = std::get_if<MethodNotAllowed>(&matched))
        {
            auto response = errorResponse(405, std::string(request.method) + " is not allowed on " +
                                                   std::string(request.path) +
                                                   "; allowed: " + notAllowed->allow + ".");
            response.headers.emplace_back("Allow", notAllowed->allow);
            reply(std::move(response));
            return;
        }
        const auto& [id, runId, filePath] = std::get<Matched>(matched);
        if (!runId.empty() && !sees(caller, runId))
        {
            reply(unknownRun(runId));
            return;
        }
        if (id == RouteId::Metrics && !caller.admin)
        {
            // A valid token without the right: 403, as RFC 6750 has it, not 401.
            auto response = errorResponse(403, "GET /metrics needs an admin token.");
            response.headers.emplace_back("WWW-Authenticate",
                                          R"(Bearer realm="pyrunner", error="insufficient_scope")");
            reply(std::move(response));
            return;
        }
        switch (id)
        {
        case RouteId::RunJson:
        case RouteId::RunFile:
            submit(id, request, caller, reply);
            return;
        case RouteId::GetRun:
            reply(getRun(runId));
            return;
        case RouteId::GetStdout:
            reply(getOutput(runId, core::Stream::Stdout));
            return;
        case RouteId::GetStderr:
            reply(getOutput(runId, core::Stream::Stderr));
            return;
        case RouteId::CancelRun:
            reply(cancelRun(runId));
            return;
        case RouteId::RunEvents:
            streamEvents(request, runId, reply);
            return;
        case RouteId::Health:
            reply(health());
            return;
        case RouteId::Metrics:
            reply(metrics());
            return;
        case RouteId::OpenApi:
            reply(openApi());
            return;
        case RouteId::Environments:
            reply(environments());
            return;
        case RouteId::GetFile:
            reply(getFile(runId, filePath));
            return;
        case RouteId::GetFilesZip:
            reply(getFilesZip(runId));
            return;
        }
    }
    catch (const std::exception& error)
    {
        std::cerr << "pyrunner: " << request.method << ' ' << excerpt(request.path)
                  << " failed: " << error.what() << '\n';
    }
    catch (...)
    {
        std::cerr << "pyrunner: " << request.method << ' ' << excerpt(request.path)
                  << " failed with an unknown exception\n";
    }
    reply(errorResponse(500, internalError));
}

std::variant<Caller, Response> Api::callerOf(const Request& request) const
{
    if (!options_.authenticate)
    {
        return Caller{"", true, {}};
    }
    auto known = options_.authenticate(request);
    if (auto* caller = std::get_if<Caller>(&known))
    {
        return std::move(*caller);
    }
    const auto refused = std::get<CallerRefused>(known);
    switch (refused.kind)
    {
    case CallerRefused::Kind::Missing:
        return unauthorized("This request needs a token: Authorization: Bearer TOKEN.",
                            R"(Bearer realm="pyrunner")");
    case CallerRefused::Kind::Invalid:
        options_.metrics->authFailed(false);
        return unauthorized("The token is not valid: unknown, revoked or malformed.",
                            R"(Bearer realm="pyrunner", error="invalid_token")");
    case CallerRefused::Kind::Throttled:
        break;
    }
    options_.metrics->authFailed(true);
    return tooManyRequests("Too many requests from your address came with a token that is not "
                           "valid",
                           refused.retryAfterSeconds);
}

bool Api::sees(const Caller& caller, const std::string& id) const
{
    if (caller.admin)
    {
        return true;
    }
    const auto owner = service_.ownerOf(id);
    return owner && *owner == caller.tenant;
}

void Api::submit(RouteId route, const Request& request, const Caller& caller,
                 const Reply& reply) const
{
    if (request.body.size() > options_.maxBodyBytes)
    {
        reply(bodyTooLarge(request.body.size(), options_.maxBodyBytes));
        return;
    }
    std::vector<std::string> names;
    for (const auto& environment : service_.environments())
    {
        // A requirements environment is chosen by listing the requirements, not by its name.
        if (environment.kind != core::EnvironmentKind::Requirements)
        {
            names.push_back(environment.name);
        }
    }
    const SubmissionRules rules{options_.limits, std::move(names), options_.maxCodeBytes,
                                options_.callbackAllow};
    auto parsed = route == RouteId::RunJson
                      ? parseRunJson(request.contentType, request.body, request.wait, rules)
                      : parseRunFile(request.contentType, request.body, request.wait, rules);
    if (const auto* error = std::get_if<HttpError>(&parsed))
    {
        reply(errorResponse(error->status, error->message));
        return;
    }
    auto& runRequest = std::get<core::RunRequest>(parsed);
    if (runRequest.callbackUrl && !caller.signsCallbacks)
    {
        reply(errorResponse(400, "Your tenant has no key to sign callbacks with yet; the "
                                 "operator's next `pyrunnerd token create` for it makes one."));
        return;
    }
    runRequest.client = request.client;
    runRequest.tenant = caller.tenant;
    runRequest.share = caller.share;
    if (!runRequest.wait)
    {
        const auto submitted = service_.submit(std::move(runRequest), {});
        if (const auto* error = std::get_if<core::SubmitError>(&submitted))
        {
            reply(submitErrorResponse(*error, service_.retryAfterSeconds()));
            return;
        }
        const auto& view = std::get<core::Submitted>(submitted).view;
        auto response = runResponse(202, view);
        response.headers.emplace_back("Location", "/runs/" + view.run.id);
        reply(std::move(response));
        return;
    }
    const auto token = waits_->add(reply);
    if (!token)
    {
        reply(stoppingWhileWaiting(""));
        return;
    }
    core::Completion onFinal = [waits = waits_, token = *token](const core::RunView& view) {
        if (const auto waiting = waits->take(token))
        {
            replyWithFinishedRun(*waiting, view);
        }
    };
    const auto submitted = service_.submit(std::move(runRequest), std::move(onFinal));
    if (const auto* error = std::get_if<core::SubmitError>(&submitted))
    {
        if (const auto waiting = waits_->take(*token))
        {
            (*waiting)(submitErrorResponse(*error, service_.retryAfterSeconds()));
        }
        return;
    }
    waits_->bind(*token, std::get<core::Submitted>(submitted).view.run.id);
}

void Api::stopWaiting(std::chrono::milliseconds grace) const
{
    waits_->stop(grace);
}

Response Api::getRun(const std::string& id) const
{
    const auto view = service_.find(id);
    return view ? runResponse(200, *view) : unknownRun(id);
}

Response Api::getOutput(const std::string& id, core::Stream stream) const
{
    auto bytes = service_.output(id, stream);
    if (!bytes)
    {
        return unknownRun(id);
    }
    return Response{200, "application/octet-stream", std::move(*bytes), {}};
}

Response Api::getFile(const std::string& id, const std::string& encodedPath) const
{
    const auto view = service_.find(id);
    if (!view)
    {
        return unknownRun(id);
    }
    // Only a name in the run's list is served, and by the copy's number: the path is never
    // looked up on disk.
    const auto path = percentDecode(encodedPath);
    const auto& files = view->run.files;
    const auto file =
        path ? std::find_if(files.begin(), files.end(),
                            [&path](const core::RunFile& f) { return f.path == *path; })
             : files.end();
    if (file == files.end())
    {
        return errorResponse(404,
                             "Run " + id + " has no file \"" + excerpt(encodedPath, 256) + "\".");
    }
    auto bytes = service_.collectedFile(id, file->index);
    if (!bytes)
    {
        return errorResponse(404, "The files of run " + id + " are gone.");
    }
    Response response{200, contentTypeOf(file->path), std::move(*bytes), {}};
    response.headers.emplace_back("ETag", "\"" + file->sha256 + "\"");
    // The bytes are the run's: no browser may guess another type, nor run a report's scripts
    // with this server's origin.
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Content-Security-Policy", "sandbox");
    return response;
}

Response Api::getFilesZip(const std::string& id) const
{
    const auto view = service_.find(id);
    if (!view)
    {
        return unknownRun(id);
    }
    std::vector<ZipMember> members;
    members.reserve(view->run.files.size());
    for (const auto& file : view->run.files)
    {
        members.push_back({file.path, [this, &id, index = file.index] {
                               return service_.collectedFile(id, index);
                           }});
    }
    auto zip = zipOf(members);
    if (!zip)
    {
        return errorResponse(404, "The files of run " + id + " are gone.");
    }
    Response response{200, "application/zip", std::move(*zip), {}};
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + id + "-files.zip\"");
    return response;
}

Response Api::cancelRun(const std::string& id) const
{
    const auto view = service_.cancel(id);
    return view ? runResponse(200, *view) : unknownRun(id);
}

void Api::streamEvents(const Request& request, const std::string& id, const Reply& reply) const
{
    EventPosition from;
    if (request.lastEventId)
    {
        const auto parsed = parseEventId(*request.lastEventId);
        if (!parsed)
        {
            reply(errorResponse(400, "Last-Event-ID \"" + excerpt(*request.lastEventId) +
                                         "\" is not the id of an event of this stream."));
            return;
        }
        from = *parsed;
    }
    if (!service_.ownerOf(id))
    {
        reply(unknownRun(id));
        return;
    }
    if (from.stage == EventStage::Ended)
    {
        // Everything was sent: 204 tells an EventSource not to reconnect.
        reply(Response{204, "text/event-stream", {}, {}});
        return;
    }
    if (!options_.streams || !request.takeConnection)
    {
        reply(errorResponse(503, "This server cannot stream events now; try again later."));
        return;
    }
    if (!options_.streams->watch(request.takeConnection, id, from))
    {
        auto response = errorResponse(
            503, "The server streams events to as many clients as it can now ([server] "
                 "max_watchers); try again later.");
        response.headers.emplace_back("Retry-After", "5");
        reply(std::move(response));
        return;
    }
    options_.metrics->httpResponse(200);
}

Response Api::health() const
{
    const auto health = service_.health();
    if (!health.systemdReachable)
    {
        return jsonResponse(
            503, {{"status", "unavailable"}, {"error", "The server cannot reach systemd."}});
    }
    return jsonResponse(200, {{"status", "ok"},
                              {"running", health.running},
                              {"queued", health.queued},
                              {"max_running", health.maxRunning},
                              {"max_queued", health.maxQueued},
                              {"layers", health.layers}});
}

Response Api::openApi()
{
    return Response{200, "application/json", std::string(openApiDocument()), {}};
}

Response Api::metrics() const
{
    return Response{200,
                    std::string(prometheusContentType),
                    prometheusText(options_.metrics->snapshot(), service_.health()),
                    {}};
}

Response Api::environments() const
{
    return jsonResponse(200, {{"environments", environmentsToJson(service_.environments())}});
}

} // namespace pyrunner::http
