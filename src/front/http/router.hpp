#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::http
{

enum class RouteId
{
    RunJson,
    RunFile,
    GetRun,
    GetStdout,
    GetStderr,
    CancelRun,
    Health,
    Metrics,
    OpenApi,
    Environments,
    GetFile,
    GetFilesZip,
    RunEvents,
};

struct Matched
{
    RouteId id;
    // The `{id}` segment of the path; empty for routes without one.
    std::string runId;
    // GetFile's: the rest of the path after /runs/{id}/files/, still percent-encoded.
    std::string filePath = {};
};

struct NotFound
{
};

struct MethodNotAllowed
{
    // The value of the `Allow` header, e.g. "GET, DELETE".
    std::string allow;
};

using RouteResult = std::variant<Matched, NotFound, MethodNotAllowed>;

// Longest run id the API accepts; longer ones cannot name a run.
inline constexpr std::size_t maxRunIdLength = 128;

// Maps a method and a path (without query) to a route. One trailing slash is optional.
// `{id}` must be 1..maxRunIdLength characters of [A-Za-z0-9_-]; anything else is not found.
// /status/{id} is a read-only alias of /runs/{id}: cancelling is DELETE /runs/{id} only.
// GET /runs/{id}/files/{path} takes the rest of the path, any number of segments.
RouteResult route(std::string_view method, std::string_view path);

// A route as documentation writes it: "GET", "/runs/{id}/stdout".
struct RouteSpec
{
    std::string_view method;
    std::string path;
};

// Every route the router knows.
std::vector<RouteSpec> routeTable();

} // namespace pyrunner::http
