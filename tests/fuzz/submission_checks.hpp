#pragma once

#include "common/utf8.hpp"
#include "front/files/files_in.hpp"
#include "front/http/request_parser.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace pyrunner::fuzz
{

// The rules of a server with 4 CPUs and two environments. The code limit is far below the
// real default (1 MiB) so that inputs of libFuzzer's usual sizes reach both sides of it.
inline const http::SubmissionRules& submissionRules()
{
    static const http::SubmissionRules rules{
        core::LimitPolicy::forCpus(4), {"default", "science"}, 1024};
    return rules;
}

inline bool inRange(std::uint64_t value, std::uint64_t maximum)
{
    return value >= 1 && value <= maximum;
}

// What every parse must give, whatever the input: a request the server can start as it is,
// or one 4xx with one short sentence fit to quote in a JSON error body.
inline void checkResult(const http::ParseResult& result, const http::SubmissionRules& rules)
{
    if (const auto* error = std::get_if<http::HttpError>(&result))
    {
        FUZZ_REQUIRE(error->status == 400 || error->status == 413 || error->status == 415);
        FUZZ_REQUIRE(!error->message.empty() && error->message.back() == '.');
        // Client text is quoted through excerpt(): a huge input never comes back whole.
        FUZZ_REQUIRE(error->message.size() <= 512);
        FUZZ_REQUIRE(core::isValidUtf8(error->message));
        return;
    }
    const auto& request = std::get<core::RunRequest>(result);
    FUZZ_REQUIRE(request.code.size() <= rules.maxCodeBytes);
    FUZZ_REQUIRE(request.code.find('\0') == std::string::npos);
    FUZZ_REQUIRE(core::isValidUtf8(request.code));
    FUZZ_REQUIRE(std::all_of(request.args.begin(), request.args.end(),
                             [](const auto& arg) { return arg.find('\0') == std::string::npos; }));
    FUZZ_REQUIRE(std::find(rules.environments.begin(), rules.environments.end(),
                           request.environment) != rules.environments.end());
    const auto& limits = request.limits;
    const auto& maxima = rules.limits.maxima;
    FUZZ_REQUIRE(inRange(limits.wallTimeS, maxima.wallTimeS));
    FUZZ_REQUIRE(inRange(limits.cpuTimeS, maxima.cpuTimeS));
    FUZZ_REQUIRE(inRange(limits.memoryMb, maxima.memoryMb));
    FUZZ_REQUIRE(inRange(limits.cpuPercent, maxima.cpuPercent));
    FUZZ_REQUIRE(inRange(limits.tasks, maxima.tasks));
    FUZZ_REQUIRE(inRange(limits.outputBytes, maxima.outputBytes));
    FUZZ_REQUIRE(inRange(limits.diskMb, maxima.diskMb));
    FUZZ_REQUIRE(inRange(limits.filesCount, maxima.filesCount));
    FUZZ_REQUIRE(inRange(limits.filesBytes, maxima.filesBytes));
    // The script comes as code or among the files, never both and never neither.
    if (!request.entry.empty())
    {
        FUZZ_REQUIRE(request.code.empty());
        FUZZ_REQUIRE(!request.filesBundle.empty());
        FUZZ_REQUIRE(!files::filesPathProblem(request.entry));
    }
    FUZZ_REQUIRE(request.filesBundle.size() % 512 == 0);
}

} // namespace pyrunner::fuzz
