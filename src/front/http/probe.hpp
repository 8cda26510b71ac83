#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pyrunner::http
{

// Asks the server listening on `host`:`port` for GET /healthz over a connection of its own and
// says whether an HTTP answer, of any status, came back within `timeout`: the whole path of a
// request (accepting, the event loop, the handler, the run lifecycle's lock) still moves.
// A wildcard host (0.0.0.0, ::) is asked on its loopback.
bool answersHttp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

} // namespace pyrunner::http
