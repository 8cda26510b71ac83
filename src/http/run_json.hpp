#pragma once

#include "core/run.hpp"
#include "core/run_service.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pyrunner::http
{

// The Run object of the API: every field present, null where there is nothing yet.
nlohmann::json runToJson(const core::RunView& view);

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-26T10:12:59.123Z".
std::string formatTimestamp(core::TimePoint time);

// {"error": message}
nlohmann::json errorJson(std::string_view message);

// Serialises without ever throwing: bytes that are not UTF-8 become U+FFFD.
std::string dumpJson(const nlohmann::json& value);

} // namespace pyrunner::http
