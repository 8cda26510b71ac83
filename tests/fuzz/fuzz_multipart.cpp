// POST /run-file/ through parseRunFile. The input's first line is the Content-Type header
// (so the fuzzer varies the media type and the boundary too: quoted, missing, empty, odd
// characters), the rest is the body. Seeds with a multipart/form-data first line exercise
// GMime; the raw script types check that the body arrives as the code untouched.
#include "front/http/request_parser.hpp"
#include "submission_checks.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace
{

// Loosely: a header that might name a form. Only the others are held to "body == code".
bool mayBeForm(std::string_view contentType)
{
    std::string lower(contentType);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return lower.find("multipart/form-data") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const auto contentType = input.substr(0, newline);
    const auto body =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    const auto& rules = pyrunner::fuzz::submissionRules();
    const auto result = pyrunner::http::parseRunFile(contentType, body, std::nullopt, rules);
    pyrunner::fuzz::checkResult(result, rules);
    const auto* request = std::get_if<pyrunner::core::RunRequest>(&result);
    if (request != nullptr && !mayBeForm(contentType))
    {
        FUZZ_REQUIRE(request->code == body);
    }
    return 0;
}
