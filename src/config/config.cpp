#include "config/config.hpp"

#include "common/callback_url.hpp"
#include "common/environment.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <toml++/toml.h>
#include <vector>

namespace pyrunner::core
{
namespace
{

constexpr std::uint64_t mebibyte = 1024ULL * 1024ULL;
// A configuration file is a page of text; anything far larger is a mistake.
constexpr std::uintmax_t maxFileBytes = mebibyte;

// One key: what it accepts, and where the value goes. `read` answers with the reason a value
// is refused, to follow the key's name ("must be ...").
struct Key
{
    std::string_view name;
    std::function<std::optional<std::string>(const toml::node&, Config&)> read;
};

// A table of the file: its keys and its sub-tables.
struct Section
{
    std::string name;
    std::vector<Key> keys;
    std::vector<Section> sections;
};

// One string of all the parts, built in place.
template <typename... Parts> std::string concat(const Parts&... parts)
{
    std::string text;
    ((text += parts), ...);
    return text;
}

std::string rangeText(Bound bound)
{
    return "an integer from " + std::to_string(bound.min) + " to " + std::to_string(bound.max);
}

Key integerKey(std::string_view name, Bound bound, std::function<void(Config&, std::uint64_t)> set)
{
    return {name,
            [bound, set = std::move(set)](const toml::node& node,
                                          Config& config) -> std::optional<std::string> {
                const auto* value = node.as_integer();
                if (value == nullptr || value->get() < 0 ||
                    static_cast<std::uint64_t>(value->get()) < bound.min ||
                    static_cast<std::uint64_t>(value->get()) > bound.max)
                {
                    return "must be " + rangeText(bound);
                }
                set(config, static_cast<std::uint64_t>(value->get()));
                return std::nullopt;
            }};
}

Key boolKey(std::string_view name, std::function<bool&(Config&)> field)
{
    return {name,
            [field = std::move(field)](const toml::node& node,
                                       Config& config) -> std::optional<std::string> {
                const auto* value = node.as_boolean();
                if (value == nullptr)
                {
                    return "must be true or false";
                }
                field(config) = value->get();
                return std::nullopt;
            }};
}

// An absolute path, so that it never depends on the directory a process starts in.
Key pathKey(std::string_view name, std::function<std::string&(Config&)> field)
{
    return {name,
            [field = std::move(field)](const toml::node& node,
                                       Config& config) -> std::optional<std::string> {
                const auto* value = node.as_string();
                if (value == nullptr || value->get().empty() || value->get().front() != '/' ||
                    value->get().find('\0') != std::string::npos)
                {
                    return "must be an absolute path in quotes";
                }
                field(config) = value->get();
                return std::nullopt;
            }};
}

// warm_pools = { NAME = K, ... }: environments the broker may not list yet are taken.
Key warmPoolsKey()
{
    return {"warm_pools", [](const toml::node& node, Config& config) -> std::optional<std::string> {
                const auto* table = node.as_table();
                if (table == nullptr)
                {
                    return "must be a table of environment names to sizes, such as { datascience "
                           "= 1 }";
                }
                for (const auto& [key, value] : *table)
                {
                    const std::string name(key.str());
                    if (name == defaultEnvironment)
                    {
                        return "may not name the default environment, whose size is warm_pool";
                    }
                    const auto* size = value.as_integer();
                    if (!isEnvironmentName(name) || size == nullptr || size->get() < 0 ||
                        static_cast<std::uint64_t>(size->get()) > bounds::warmPool.max)
                    {
                        return "must map environment names to " + rangeText(bounds::warmPool);
                    }
                    config.server.warmPools[name] = static_cast<std::size_t>(size->get());
                }
                return std::nullopt;
            }};
}

Key listenKey(const ConfigRules& rules)
{
    return {
        "listen", [&rules](const toml::node& node, Config& config) -> std::optional<std::string> {
            const auto* value = node.as_string();
            if (value == nullptr || (rules.isListenAddress && !rules.isListenAddress(value->get())))
            {
                return "must be \"ADDR:PORT\", such as \"127.0.0.1:8080\" or \"[::1]:8080\"";
            }
            config.server.listen = value->get();
            return std::nullopt;
        }};
}

// One limit as the file names it, with its hard bound and where it lives in Limits.
struct LimitField
{
    std::string_view name;
    std::uint64_t hardMax;
    std::function<void(Limits&, std::uint64_t)> set;
    std::function<std::uint64_t(const Limits&)> get;
};

template <typename T>
LimitField limitField(std::string_view name, std::uint64_t hardMax, T Limits::*field)
{
    return {name, hardMax, [field](Limits& l, std::uint64_t v) { l.*field = static_cast<T>(v); },
            [field](const Limits& l) { return static_cast<std::uint64_t>(l.*field); }};
}

const std::array<LimitField, 9>& limitFields()
{
    static const std::array<LimitField, 9> fields{{
        limitField("wall_time_s", 86400, &Limits::wallTimeS),
        limitField("cpu_time_s", 86400, &Limits::cpuTimeS),
        limitField("memory_mb", 1ULL << 20U, &Limits::memoryMb),
        limitField("cpu_percent", 100ULL * 1024ULL, &Limits::cpuPercent),
        limitField("tasks", 65536, &Limits::tasks),
        limitField("output_bytes", 1024ULL * mebibyte, &Limits::outputBytes),
        limitField("disk_mb", 65536, &Limits::diskMb),
        // A multipart request carries at most this many parts named files (multipart_form.hpp).
        limitField("files_count", 10000, &Limits::filesCount),
        // What comes in is held in the front's memory while it is checked.
        limitField("files_bytes", 1024ULL * mebibyte, &Limits::filesBytes),
    }};
    return fields;
}

Section limitSection(const std::string& name, Limits LimitPolicy::*which)
{
    Section section{name, {}, {}};
    for (const auto& field : limitFields())
    {
        section.keys.push_back(integerKey(field.name, Bound{1, field.hardMax},
                                          [which, set = field.set](Config& c, std::uint64_t v) {
            set(c.limits.*which, v);
        }));
    }
    return section;
}

// Who may use the HTTP API: the tenants' tokens, and how often a client may fail to show one.
Section authSection()
{
    Section section{"auth", {}, {}};
    section.keys.push_back(boolKey("required", [](Config& c) -> bool& { return c.auth.required; }));
    section.keys.push_back(
        pathKey("tokens_file", [](Config& c) -> std::string& { return c.auth.tokensFile; }));
    section.keys.push_back(integerKey("failed_attempts_per_minute", bounds::failedAttemptsPerMinute,
                                      [](Config& c, std::uint64_t v) {
        c.auth.failedAttemptsPerMinute = static_cast<unsigned>(v);
    }));
    return section;
}

// allow = ["https://hooks.example/", ...]: each a URL a callback_url may lie under.
Key allowKey()
{
    return {
        "allow", [](const toml::node& node, Config& config) -> std::optional<std::string> {
            const auto* array = node.as_array();
            constexpr std::string_view shape =
                "must be a list of URL prefixes in quotes, such as [\"https://hooks.example/\"]";
            if (array == nullptr)
            {
                return std::string(shape);
            }
            std::vector<std::string> prefixes;
            for (const auto& item : *array)
            {
                const auto* prefix = item.as_string();
                if (prefix == nullptr)
                {
                    return std::string(shape);
                }
                if (auto fault = callbackUrlFault(prefix->get()))
                {
                    // The sentence goes on after it (readTable ends it).
                    fault->pop_back();
                    return "holds \"" + prefix->get() +
                           "\", which is not a URL a callback may "
                           "go to: " +
                           *fault;
                }
                prefixes.push_back(prefix->get());
            }
            config.callbacks.allow = std::move(prefixes);
            return std::nullopt;
        }};
}

// Every table and key the file may hold.
Section fileLayout(const ConfigRules& rules)
{
    return Section{
        "",
        {},
        {
            {"server",
             {
                 listenKey(rules),
                 pathKey("state_dir", [](Config& c) -> std::string& { return c.server.stateDir; }),
                 pathKey("store", [](Config& c) -> std::string& { return c.server.store; }),
                 integerKey("max_request_mb", bounds::maxRequestMb,
                            [](Config& c, std::uint64_t v) { c.server.maxRequestMb = v; }),
                 integerKey("max_watchers", bounds::maxWatchers,
                            [](Config& c, std::uint64_t v) { c.server.maxWatchers = v; }),
                 integerKey(
                     "http_threads", bounds::httpThreads,
                     [](Config& c, std::uint64_t v) {
        c.server.httpThreads = static_cast<unsigned>(v);
                     }),
            },
             {}},
            {"runs",
             {
                 integerKey("max_running", bounds::maxRunning,
                            [](Config& c, std::uint64_t v) { c.server.maxRunning = v; }),
                 integerKey("max_queued", bounds::maxQueued,
                            [](Config& c, std::uint64_t v) { c.server.maxQueued = v; }),
                 integerKey("warm_pool", bounds::warmPool,
                            [](Config& c, std::uint64_t v) { c.server.warmPool = v; }),
                 warmPoolsKey(),
                 integerKey(
                     "retention_seconds", bounds::retentionSeconds,
                     [](Config& c, std::uint64_t v) {
        c.server.retentionSeconds = static_cast<unsigned>(v);
                     }),
                 integerKey("disk_budget_mb", bounds::diskBudgetMb,
                            [](Config& c, std::uint64_t v) { c.server.diskBudgetMb = v; }),
            },
             {}},
        {"limits",
         {},
         {limitSection("limits.default", &LimitPolicy::defaults),
          limitSection("limits.max", &LimitPolicy::maxima)}},
        {"environments",
         {
             pathKey("directory",
                     [](Config& c) -> std::string& { return c.environments.directory; }),
             pathKey("wheel_dir",
                     [](Config& c) -> std::string& { return c.environments.wheelDir; }),
             integerKey(
                 "build_timeout_s", bounds::buildTimeoutS,
                 [](Config& c,
                    std::uint64_t
                        v) { c.environments.buildTimeoutS = static_cast<std::uint32_t>(v); }),
             integerKey(
                 "build_memory_mb", bounds::buildMemoryMb,
                 [](Config& c,
                    std::uint64_t
                        v) { c.environments.buildMemoryMb = static_cast<std::uint32_t>(v); }),
             integerKey("build_max_mb", bounds::buildMaxMb,
                        [](Config& c, std::uint64_t v) { c.environments.buildMaxMb = v; }),
         },
         {}},
        authSection(),
        {"callbacks", {allowKey()}, {}},
    }};
}

std::string located(std::string_view path, const toml::source_region& where,
                    const std::string& sentence)
{
    // Appended piece by piece: GCC 12 takes `":" + std::to_string(...)` for an overlapping
    // copy at -O3 (-Wrestrict, a false positive).
    std::string message(path);
    if (where.begin.line > 0)
    {
        message += ':';
        message += std::to_string(where.begin.line);
    }
    message += ": ";
    message += sentence;
    return message;
}

template <typename T> std::string namesOf(const std::vector<T>& items)
{
    std::string names;
    for (const auto& item : items)
    {
        const std::string_view name = item.name;
        names += (names.empty() ? "" : ", ") + std::string(name.substr(name.rfind('.') + 1));
    }
    return names;
}

std::string qualified(const Section& section, std::string_view key)
{
    return section.name.empty() ? std::string(key) : section.name + "." + std::string(key);
}

// Where each key of the file was, by its dotted name, for faults found after the walk.
using Seen = std::map<std::string, toml::source_region>;

std::optional<std::string> readTable(const toml::table& table, const Section& section,
                                     std::string_view path, Config& config, Seen& seen)
{
    for (const auto& [key, node] : table)
    {
        const std::string_view keyName = key.str();
        const auto name = qualified(section, keyName);
        const auto keyIt = std::find_if(section.keys.begin(), section.keys.end(),
                                        [keyName](const Key& k) { return k.name == keyName; });
        if (keyIt != section.keys.end())
        {
            if (auto refusal = keyIt->read(node, config))
            {
                return located(path, node.source(), name + " " + *refusal + ".");
            }
            seen[name] = node.source();
            continue;
        }
        const auto sectionIt = std::find_if(section.sections.begin(), section.sections.end(),
                                            [&](const Section& s) { return s.name == name; });
        if (sectionIt == section.sections.end())
        {
            const auto known =
                section.keys.empty() ? namesOf(section.sections) : namesOf(section.keys);
            std::string sentence;
            if (!section.name.empty())
            {
                sentence = "unknown key " + name + " in [" + section.name + "]; it takes ";
            }
            else if (node.is_table())
            {
                sentence = "unknown section [" + name + "]; the sections are ";
            }
            else
            {
                sentence = name + " must be inside a section; the sections are ";
            }
            return located(path, key.source(), sentence + known + ".");
        }
        const auto* inner = node.as_table();
        if (inner == nullptr)
        {
            return located(path, node.source(),
                           concat(name, " must be a table, written [", name, "]."));
        }
        if (auto fault = readTable(*inner, *sectionIt, path, config, seen))
        {
            return fault;
        }
    }
    return std::nullopt;
}

// A default above its maximum would make every request that leaves the limit out fail.
std::optional<std::string> checkDefaultsWithinMaxima(const Config& config, std::string_view path,
                                                     const Seen& seen)
{
    for (const auto& field : limitFields())
    {
        const auto value = field.get(config.limits.defaults);
        const auto maximum = field.get(config.limits.maxima);
        if (value <= maximum)
        {
            continue;
        }
        const auto defaultName = "limits.default." + std::string(field.name);
        const auto maxName = "limits.max." + std::string(field.name);
        const auto where = seen.contains(defaultName) ? seen.at(defaultName) : seen.at(maxName);
        return located(path, where,
                       concat(defaultName, " (", std::to_string(value), ") must not exceed ",
                              maxName, " (", std::to_string(maximum), ")."));
    }
    return std::nullopt;
}

} // namespace

Limits hardLimitBounds()
{
    Limits hard;
    for (const auto& field : limitFields())
    {
        field.set(hard, field.hardMax);
    }
    return hard;
}

unsigned hostCpus()
{
    return std::max(1U, std::thread::hardware_concurrency());
}

std::optional<std::pair<std::string, std::size_t>> parseWarmPoolFor(std::string_view text)
{
    const auto equals = text.find('=');
    if (equals == std::string_view::npos)
    {
        return std::nullopt;
    }
    const auto name = text.substr(0, equals);
    const auto digits = text.substr(equals + 1);
    constexpr std::size_t maxDigits = 2;
    if (!isEnvironmentName(name) || digits.empty() || digits.size() > maxDigits ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    {
        return std::nullopt;
    }
    const auto size = std::stoull(std::string(digits));
    if (size > bounds::warmPool.max)
    {
        return std::nullopt;
    }
    return std::pair{std::string(name), static_cast<std::size_t>(size)};
}

void setWarmPool(ServerSettings& settings, const std::string& name, std::size_t size)
{
    if (name == defaultEnvironment)
    {
        settings.warmPool = size;
        return;
    }
    settings.warmPools[name] = size;
}

Config defaultConfig(unsigned cpus)
{
    Config config;
    config.server.maxRunning =
        std::clamp<std::size_t>(cpus, bounds::maxRunning.min, bounds::maxRunning.max);
    config.limits = LimitPolicy::forCpus(cpus);
    return config;
}

std::variant<Config, ConfigError> parseConfig(std::string_view text, std::string_view path,
                                              const ConfigRules& rules)
{
    toml::table table;
    try
    {
        table = toml::parse(text, path);
    }
    catch (const toml::parse_error& e)
    {
        std::string sentence(e.description());
        if (!sentence.empty() && sentence.back() != '.')
        {
            sentence += '.';
        }
        return ConfigError{located(path, e.source(), "not valid TOML: " + sentence)};
    }
    auto config = defaultConfig(rules.cpus);
    Seen seen;
    if (auto fault = readTable(table, fileLayout(rules), path, config, seen))
    {
        return ConfigError{*fault};
    }
    if (auto fault = checkDefaultsWithinMaxima(config, path, seen))
    {
        return ConfigError{*fault};
    }
    return config;
}

std::variant<Config, ConfigError> loadConfig(const std::string& path, bool required,
                                             const ConfigRules& rules)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
    {
        const int error = errno;
        if (error == ENOENT && !required)
        {
            return defaultConfig(rules.cpus);
        }
        return ConfigError{path + ": cannot be read: " + std::strerror(error) + "."};
    }
    std::string text(maxFileBytes + 1, '\0');
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (file.bad())
    {
        return ConfigError{path + ": cannot be read: " + std::strerror(errno) + "."};
    }
    text.resize(static_cast<std::size_t>(file.gcount()));
    if (text.size() > maxFileBytes)
    {
        return ConfigError{path +
                           ": is larger than 1 MiB; a configuration file is a page of text."};
    }
    return parseConfig(text, path, rules);
}

} // namespace pyrunner::core
