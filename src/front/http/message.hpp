#pragma once

#include "common/fd.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pyrunner::http
{

// Hands a request's connection over to a stream: a descriptor of its own for the client's
// socket, after which the HTTP server reads nothing more from it; invalid if the client is gone.
using TakeConnection = std::function<core::UniqueFd()>;

// An HTTP request as the API needs it, apart from any server library.
struct Request
{
    std::string_view method;
    // Without the query.
    std::string_view path;
    // Empty when the request has none.
    std::string_view contentType;
    std::string_view body;
    // The `wait` query parameter, when the URL has one.
    std::optional<std::string_view> wait;
    // The peer's address ("192.0.2.1", "2001:db8::1"), for the operator's log.
    std::string_view client = {};
    // The Authorization header, when the request has one.
    std::optional<std::string_view> authorization = {};
    // The Last-Event-ID header, when the request has one.
    std::optional<std::string_view> lastEventId = {};
    // Set where the server can hand the connection over to an event stream.
    TakeConnection takeConnection = {};
};

struct Response
{
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Sends the response. Called exactly once, from any thread.
using Reply = std::function<void(Response)>;

} // namespace pyrunner::http
