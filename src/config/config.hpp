#pragma once

#include "common/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pyrunner::core
{

inline constexpr std::string_view defaultConfigPath = "/etc/pyrunner/pyrunner.toml";

// The bounds every setting must keep, whether it comes from the file or a flag.
struct Bound
{
    std::uint64_t min;
    std::uint64_t max;
};

namespace bounds
{
inline constexpr Bound maxRunning{1, 1024};
inline constexpr Bound maxQueued{0, 100000};
inline constexpr Bound warmPool{0, 64};
inline constexpr Bound retentionSeconds{1, 366ULL * 86400ULL};
inline constexpr Bound diskBudgetMb{1, 1ULL << 30U};
inline constexpr Bound httpThreads{1, 256};
inline constexpr Bound maxRequestMb{1, 4096};
inline constexpr Bound maxWatchers{1, 65536};
inline constexpr Bound buildTimeoutS{1, 86400};
inline constexpr Bound buildMemoryMb{64, 1ULL << 20U};
inline constexpr Bound buildMaxMb{1, 1ULL << 20U};
inline constexpr Bound failedAttemptsPerMinute{1, 100000};
} // namespace bounds

// The hard bounds of the limits' defaults and maxima: the operator chooses within them.
Limits hardLimitBounds();

// pyrunnerd's settings; pyrunner-broker reads stateDir and the limits from the same file.
struct ServerSettings
{
    std::string listen = "127.0.0.1:8080";
    std::string stateDir = "/var/lib/pyrunner";
    // Empty: <stateDir>/front/runs.sqlite3.
    std::string store;
    std::size_t maxRunning = 1;
    std::size_t maxQueued = 64;
    // Warm units of the default environment.
    std::size_t warmPool = 2;
    // Warm units of other environments, by name; an environment not listed has none.
    std::map<std::string, std::size_t> warmPools;
    // A day.
    unsigned retentionSeconds = 86400;
    std::uint64_t diskBudgetMb = 10240;
    unsigned httpThreads = 4;
    // The largest request body, files and archive included; held in memory while parsed.
    std::uint64_t maxRequestMb = 64;
    // Event streams (GET /runs/{id}/events) open at once; each holds a connection and a little
    // memory.
    std::size_t maxWatchers = 256;

    bool operator==(const ServerSettings&) const = default;
};

// pyrunner-broker's environments (docs/environments.md).
struct EnvironmentConfig
{
    // Root's, outside the state directory: one venv a directory, named as the environment.
    std::string directory = "/var/lib/pyrunner-environments";
    // Where runs' requirements are installed from; empty: runs may not list requirements.
    std::string wheelDir;
    std::uint32_t buildTimeoutS = 600;
    std::uint32_t buildMemoryMb = 2048;
    // The largest environment a build may leave.
    std::uint64_t buildMaxMb = 2048;

    bool operator==(const EnvironmentConfig&) const = default;
};

// Who may use the HTTP API: the tenants' bearer tokens (docs/operations.md).
struct AuthSettings
{
    // False: the HTTP API asks for no token.
    bool required = true;
    // Root's, written by `pyrunnerd token`; read by pyrunnerd at each change.
    std::string tokensFile = "/etc/pyrunner/tokens";
    // Failed authentications a client may make at once, and regains per minute.
    unsigned failedAttemptsPerMinute = 10;

    bool operator==(const AuthSettings&) const = default;
};

// Where finished runs may be posted (callback_url, docs/operations.md).
struct CallbackSettings
{
    // URL prefixes a run's callback_url must lie under (isUnderPrefix); none: callbacks are
    // refused.
    std::vector<std::string> allow;

    bool operator==(const CallbackSettings&) const = default;
};

struct Config
{
    ServerSettings server;
    LimitPolicy limits;
    EnvironmentConfig environments;
    AuthSettings auth;
    CallbackSettings callbacks;
};

// What the file would give if it were empty: one running run per CPU.
Config defaultConfig(unsigned cpus);

struct ConfigError
{
    // "FILE:LINE: one sentence." (no line when the file as a whole is at fault)
    std::string message;
};

// The CPUs this host has, at least one.
unsigned hostCpus();

struct ConfigRules
{
    unsigned cpus = hostCpus();
    // Checks the listen address's syntax; none: any string is taken.
    std::function<bool(std::string_view)> isListenAddress;
};

// "NAME=K", a warm pool's size for one environment (K within bounds::warmPool), or nothing.
std::optional<std::pair<std::string, std::size_t>> parseWarmPoolFor(std::string_view text);

// Sets environment `name`'s warm pool: warmPool for the default environment.
void setWarmPool(ServerSettings& settings, const std::string& name, std::size_t size);

// The TOML text of the file `path` (named in errors only) over defaultConfig: every key
// known and every value in range, or the first fault found.
std::variant<Config, ConfigError> parseConfig(std::string_view text, std::string_view path,
                                              const ConfigRules& rules);

// Reads and parses `path`. A missing file is the defaults unless `required`.
std::variant<Config, ConfigError> loadConfig(const std::string& path, bool required,
                                             const ConfigRules& rules);

} // namespace pyrunner::core
