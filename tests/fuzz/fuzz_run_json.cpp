// The body of POST /run-json/ through parseRunJson. Beyond checkResult: an accepted body is
// a JSON object whose fields are exactly what the request holds. An exception out of the
// parser ends in std::terminate, which libFuzzer reports as a crash.
#include "front/http/request_parser.hpp"
#include "submission_checks.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace
{

using nlohmann::json;
using pyrunner::core::RunRequest;

// The body's limit named `key`, else the policy's default; cpu_time_s may follow the wall
// time, so only a value the body names is compared for it.
void checkLimit(const json& body, const char* key, std::uint64_t resolved,
                std::optional<std::uint64_t> fallback)
{
    if (body.contains("limits") && body["limits"].contains(key))
    {
        FUZZ_REQUIRE(body["limits"][key].get<std::uint64_t>() == resolved);
    }
    else if (fallback)
    {
        FUZZ_REQUIRE(*fallback == resolved);
    }
}

void checkAgainstBody(std::string_view text, const RunRequest& request)
{
    const auto body = json::parse(text, nullptr, false);
    FUZZ_REQUIRE(body.is_object());
    // The script is the code, or one of the files named by entry: never both.
    FUZZ_REQUIRE(body.contains("code") != body.contains("entry"));
    FUZZ_REQUIRE(body.value("code", std::string()) == request.code);
    FUZZ_REQUIRE(body.value("entry", std::string()) == request.entry);
    FUZZ_REQUIRE(body.contains("files") || request.filesBundle.empty());
    FUZZ_REQUIRE(body.value("stdin", std::string()) == request.stdinData);
    FUZZ_REQUIRE(body.value("environment", std::string("default")) == request.environment);
    FUZZ_REQUIRE(body.value("wait", true) == request.wait);
    FUZZ_REQUIRE(body.value("args", json::array()) == json(request.args));
    const auto& defaults = pyrunner::fuzz::submissionRules().limits.defaults;
    const auto& limits = request.limits;
    checkLimit(body, "wall_time_s", limits.wallTimeS, defaults.wallTimeS);
    checkLimit(body, "cpu_time_s", limits.cpuTimeS, std::nullopt);
    checkLimit(body, "memory_mb", limits.memoryMb, defaults.memoryMb);
    checkLimit(body, "cpu_percent", limits.cpuPercent, defaults.cpuPercent);
    checkLimit(body, "tasks", limits.tasks, defaults.tasks);
    checkLimit(body, "output_bytes", limits.outputBytes, defaults.outputBytes);
    checkLimit(body, "disk_mb", limits.diskMb, defaults.diskMb);
    checkLimit(body, "files_count", limits.filesCount, defaults.filesCount);
    checkLimit(body, "files_bytes", limits.filesBytes, defaults.filesBytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto& rules = pyrunner::fuzz::submissionRules();
    const auto result = pyrunner::http::parseRunJson("application/json", body, std::nullopt, rules);
    pyrunner::fuzz::checkResult(result, rules);
    if (const auto* request = std::get_if<RunRequest>(&result))
    {
        checkAgainstBody(body, *request);
    }
    return 0;
}
