#pragma once

#include "common/environment.hpp"
#include "front/runs/run_service.hpp"
#include "front/store/run.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::http
{

// The Run object of the API: every field present, null where there is nothing yet.
nlohmann::json runToJson(const core::RunView& view);
// The Run object without `stdout` and `stderr`, as a run's status events carry it.
nlohmann::json runStatusToJson(const core::Run& run);

// GET /environments: each environment with its kind, Python version and packages; those
// built for requirements also with the list and how often this server's broker built them.
nlohmann::json environmentsToJson(const std::vector<core::Environment>& environments);

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-26T10:12:59.123Z".
std::string formatTimestamp(core::TimePoint time);

// {"error": message}
nlohmann::json errorJson(std::string_view message);

// Serialises without ever throwing: bytes that are not UTF-8 become U+FFFD.
std::string dumpJson(const nlohmann::json& value);

} // namespace pyrunner::http
