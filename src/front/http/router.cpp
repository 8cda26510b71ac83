#include "front/http/router.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace pyrunner::http
{
namespace
{

struct Route
{
    std::string_view method;
    // Segments of the path; "{id}" matches a run id.
    std::array<std::string_view, 3> segments;
    RouteId id;
};

constexpr std::string_view idSegment = "{id}";

constexpr std::array<Route, 14> routes{{
    {"POST", {"run-json"}, RouteId::RunJson},
    {"POST", {"run-file"}, RouteId::RunFile},
    {"GET", {"runs", idSegment}, RouteId::GetRun},
    {"DELETE", {"runs", idSegment}, RouteId::CancelRun},
    {"GET", {"status", idSegment}, RouteId::GetRun},
    {"GET", {"runs", idSegment, "stdout"}, RouteId::GetStdout},
    {"GET", {"runs", idSegment, "stderr"}, RouteId::GetStderr},
    {"GET", {"runs", idSegment, "events"}, RouteId::RunEvents},
    {"GET", {"healthz"}, RouteId::Health},
    {"GET", {"metrics"}, RouteId::Metrics},
    {"GET", {"openapi.json"}, RouteId::OpenApi},
    {"GET", {"environments"}, RouteId::Environments},
    {"GET", {"runs", idSegment, "files.zip"}, RouteId::GetFilesZip},
    // Its path goes on past the pattern (fileRoute).
    {"GET", {"runs", idSegment, "files"}, RouteId::GetFile},
}};

constexpr std::size_t filePathStart = 3;

bool isRunId(std::string_view text)
{
    return !text.empty() && text.size() <= maxRunIdLength &&
           std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
           });
}

// "/runs/abc/" -> {"runs", "abc"}; nothing for paths that are not absolute or have empty
// segments, which no route has.
std::optional<std::vector<std::string_view>> splitPath(std::string_view path)
{
    if (path.empty() || path.front() != '/')
    {
        return std::nullopt;
    }
    path.remove_prefix(1);
    if (!path.empty() && path.back() == '/')
    {
        path.remove_suffix(1);
    }
    std::vector<std::string_view> segments;
    while (true)
    {
        const auto slash = path.find('/');
        const auto segment = path.substr(0, slash);
        if (segment.empty())
        {
            return std::nullopt;
        }
        segments.push_back(segment);
        if (slash == std::string_view::npos)
        {
            return segments;
        }
        path.remove_prefix(slash + 1);
    }
}

// The run id captured when `segments` fit the route's pattern.
std::optional<std::string> matchPath(const Route& candidate,
                                     const std::vector<std::string_view>& segments)
{
    const auto length = static_cast<std::size_t>(std::count_if(
        candidate.segments.begin(), candidate.segments.end(), [](auto s) { return !s.empty(); }));
    if (segments.size() != length)
    {
        return std::nullopt;
    }
    std::string runId;
    for (std::size_t i = 0; i < length; ++i)
    {
        if (candidate.segments[i] == idSegment)
        {
            if (!isRunId(segments[i]))
            {
                return std::nullopt;
            }
            runId = segments[i];
        }
        else if (candidate.segments[i] != segments[i])
        {
            return std::nullopt;
        }
    }
    return runId;
}

} // namespace

RouteResult route(std::string_view method, std::string_view path)
{
    const auto segments = splitPath(path);
    if (!segments)
    {
        return NotFound{};
    }
    std::string allow;
    for (const auto& candidate : routes)
    {
        const bool takesPath = candidate.id == RouteId::GetFile;
        if (takesPath != (segments->size() > filePathStart))
        {
            continue;
        }
        const std::vector<std::string_view> prefix(
            segments->begin(), segments->begin() + static_cast<std::ptrdiff_t>(
                                                       std::min(segments->size(), filePathStart)));
        auto runId = matchPath(candidate, takesPath ? prefix : *segments);
        if (!runId)
        {
            continue;
        }
        if (candidate.method == method)
        {
            std::string filePath;
            if (takesPath)
            {
                const auto first = (*segments)[filePathStart];
                const auto last = segments->back();
                filePath =
                    std::string(first.data(),
                                static_cast<std::size_t>(last.data() + last.size() - first.data()));
            }
            return Matched{candidate.id, std::move(*runId), std::move(filePath)};
        }
        allow += allow.empty() ? "" : ", ";
        allow += candidate.method;
    }
    if (allow.empty())
    {
        return NotFound{};
    }
    return MethodNotAllowed{std::move(allow)};
}

std::vector<RouteSpec> routeTable()
{
    std::vector<RouteSpec> table;
    table.reserve(routes.size());
    for (const auto& each : routes)
    {
        std::string path;
        for (const auto segment : each.segments)
        {
            if (!segment.empty())
            {
                path += '/';
                path += segment;
            }
        }
        if (each.id == RouteId::GetFile)
        {
            path += "/{path}";
        }
        table.push_back(RouteSpec{each.method, std::move(path)});
    }
    return table;
}

} // namespace pyrunner::http
