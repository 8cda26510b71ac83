#pragma once

#include "front/runs/metrics.hpp"
#include "front/runs/run_service.hpp"

#include <string>
#include <string_view>

namespace pyrunner::http
{

// The Prometheus text exposition format, version 0.0.4.
inline constexpr std::string_view prometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Every metric of the server, with its # HELP and # TYPE lines: the counters of `counts`
// and the gauges of `now`.
std::string prometheusText(const core::MetricsSnapshot& counts, const core::Health& now);

} // namespace pyrunner::http
