#pragma once

#include "common/tenant.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::auth
{

// A tenant as its tokens file sets it: whose runs a token submits, and their limits.
struct Tenant
{
    std::string name;
    // Sees every tenant's runs, and the metrics.
    bool admin = false;
    // The tenant's runs executing at once and waiting; none: the server's own caps alone.
    std::optional<std::size_t> maxRunning;
    std::optional<std::size_t> maxQueued;
    // Its slice's CPU and memory; 0 leaves one uncapped.
    core::TenantCaps caps;
    // Signs its runs' callbacks (core::isCallbackKey); empty for a tenant from a file older
    // than callbacks, until its next `pyrunnerd token create`.
    std::string callbackKey = {};

    bool operator==(const Tenant&) const = default;
};

// One token of a tenant, as the file keeps it: never the token, only its hash.
struct TokenRecord
{
    // tokenIdOf(sha256).
    std::string id;
    std::string sha256;
    // RFC 3339, UTC, to the second: "2024-05-01T12:00:00Z".
    std::string created;

    bool operator==(const TokenRecord&) const = default;
};

struct TenantRecord
{
    Tenant tenant;
    std::vector<TokenRecord> tokens;

    bool operator==(const TenantRecord&) const = default;
};

// The whole file, ordered by name.
using TenantRecords = std::vector<TenantRecord>;

// The JSON text of a tokens file: {"version": 1, "tenants": {NAME: {"admin": false,
// "max_running": N | null, "max_queued": N | null, "cpu_percent": N | null, "memory_mb":
// N | null, "callback_key": KEY, "tokens": [{"id", "sha256", "created"}]}}}. Every key is
// required but callback_key (files written before callbacks lack it), and no other taken; names,
// caps, ids and hashes are checked, and no hash or name may appear twice. A fault is one sentence
// that starts with `path`.
std::variant<TenantRecords, std::string> parseTokensFile(std::string_view text,
                                                         std::string_view path);
// What parseTokensFile reads back as `records` (which must be valid), tenants sorted by name.
std::string tokensFileText(const TenantRecords& records);

// The file at `path`: a missing file holds no tenants. The file itself is opened without
// following a symbolic link and must be a regular file.
std::variant<TenantRecords, std::string> readTokensFile(const std::string& path);

// Changes the file at `path` in place of every other `pyrunnerd token`: holds flock(2) on its
// directory, reads the file, lets `change` edit the records (or refuse with a sentence), and
// replaces the file with a new one written beside it: mode 0640, owned by the directory's
// owner and group (root:pyrunner 0750 for /etc/pyrunner, so the front reads it by its group
// and nothing needs a group's name), synced, renamed over the old one, and the directory
// synced. Nothing: the change is on disk; otherwise the sentence why not.
using TokensChange = std::function<std::optional<std::string>(TenantRecords&)>;
std::optional<std::string> changeTokensFile(const std::string& path, const TokensChange& change);

} // namespace pyrunner::auth
