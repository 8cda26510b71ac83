#pragma once

#include "common/limits.hpp"
#include "front/store/run.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pyrunner::http
{

inline constexpr std::size_t mebibyte = std::size_t{1024} * 1024;

// A request the API refuses: the status and one sentence a person can act on.
struct HttpError
{
    int status = 400;
    std::string message;

    bool operator==(const HttpError&) const = default;
};

inline HttpError badRequest(std::string message)
{
    return HttpError{400, std::move(message)};
}

// A client's text quoted in an error, cut short and made printable.
std::string inQuotes(std::string_view text);

// What a submission is checked against.
struct SubmissionRules
{
    core::LimitPolicy limits = core::LimitPolicy::forCpus(1);
    std::vector<std::string> environments;
    std::size_t maxCodeBytes = mebibyte;
    // The prefixes a callback_url must lie under; none: callback_url is refused.
    std::vector<std::string> callbackAllow = {};
};

using ParseResult = std::variant<core::RunRequest, HttpError>;

// JSON nested deeper than this is refused before it costs anything.
inline constexpr int maxJsonDepth = 32;
// The kernel refuses to exec a command line with a longer argument (MAX_ARG_STRLEN, 128 KiB
// with its NUL), so such a run could never start.
inline constexpr std::size_t maxArgBytes = std::size_t{128} * 1024 - 1;

// POST /run-json/: a JSON object (Content-Type application/json). `wait` is the query
// parameter of that name when the URL has one; it overrides the body's `wait`.
ParseResult parseRunJson(std::string_view contentType, std::string_view body,
                         std::optional<std::string_view> wait, const SubmissionRules& rules);

// POST /run-file/: multipart/form-data with parts `file` and optionally `options`, or the
// script as the whole body (text/x-python, text/plain, application/octet-stream).
ParseResult parseRunFile(std::string_view contentType, std::string_view body,
                         std::optional<std::string_view> wait, const SubmissionRules& rules);

} // namespace pyrunner::http
