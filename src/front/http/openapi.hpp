#pragma once

#include <string_view>

namespace pyrunner::http
{

// The OpenAPI 3.0 description of the HTTP API that GET /openapi.json serves: the bytes of
// docs/openapi.json, embedded at build time.
std::string_view openApiDocument();

} // namespace pyrunner::http
