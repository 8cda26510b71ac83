// route() on a method (the input's first line) and a path (the rest): a match captures
// only a well-formed run id, the trailing slash never matters, and a 405 lists the methods
// the path does take, never the one asked.
#include "front/http/router.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace
{

using namespace pyrunner::http;

bool isRunIdChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool takesRunId(RouteId id)
{
    return id == RouteId::GetRun || id == RouteId::GetStdout || id == RouteId::GetStderr ||
           id == RouteId::CancelRun || id == RouteId::GetFile || id == RouteId::GetFilesZip ||
           id == RouteId::RunEvents;
}

bool isKnownMethod(std::string_view method)
{
    return method == "GET" || method == "POST" || method == "DELETE";
}

void checkMatched(std::string_view method, std::string_view path, const Matched& matched)
{
    FUZZ_REQUIRE(isKnownMethod(method));
    FUZZ_REQUIRE(takesRunId(matched.id) == !matched.runId.empty());
    FUZZ_REQUIRE(matched.runId.size() <= maxRunIdLength);
    FUZZ_REQUIRE(std::all_of(matched.runId.begin(), matched.runId.end(), isRunIdChar));
    const auto twinPath = path.ends_with('/') ? std::string(path.substr(0, path.size() - 1))
                                              : std::string(path) + "/";
    const auto twin = route(method, twinPath);
    const auto* twinMatched = std::get_if<Matched>(&twin);
    FUZZ_REQUIRE(twinMatched != nullptr && twinMatched->id == matched.id &&
                 twinMatched->runId == matched.runId);
}

// "GET, DELETE": known methods, none of them the one asked.
void checkAllow(std::string_view method, std::string_view allow)
{
    FUZZ_REQUIRE(!allow.empty());
    while (true)
    {
        const auto comma = allow.find(", ");
        const auto item = allow.substr(0, comma);
        FUZZ_REQUIRE(isKnownMethod(item) && item != method);
        if (comma == std::string_view::npos)
        {
            return;
        }
        allow.remove_prefix(comma + 2);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const auto method = input.substr(0, newline);
    const auto path =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    const auto result = route(method, path);
    if (const auto* matched = std::get_if<Matched>(&result))
    {
        checkMatched(method, path, *matched);
    }
    else if (const auto* notAllowed = std::get_if<MethodNotAllowed>(&result))
    {
        checkAllow(method, notAllowed->allow);
    }
    return 0;
}
