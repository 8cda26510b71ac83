#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

constexpr std::string_view path = "/etc/pyrunner/pyrunner.toml";

ConfigRules rules(unsigned cpus = 4)
{
    ConfigRules r;
    r.cpus = cpus;
    r.isListenAddress = [](std::string_view text) {
        return text.find(':') != std::string_view::npos;
    };
    return r;
}

Config parsed(std::string_view text, unsigned cpus = 4)
{
    auto result = parseConfig(text, path, rules(cpus));
    EXPECT_TRUE(std::holds_alternative<Config>(result)) << std::get<ConfigError>(result).message;
    return std::holds_alternative<Config>(result) ? std::get<Config>(result) : Config{};
}

std::string refusal(std::string_view text)
{
    auto result = parseConfig(text, path, rules());
    EXPECT_TRUE(std::holds_alternative<ConfigError>(result));
    return std::holds_alternative<ConfigError>(result) ? std::get<ConfigError>(result).message
                                                       : std::string{};
}

TEST(ParseConfig, AnEmptyFileGivesTheDefaults)
{
    const auto config = parsed("", 3);
    EXPECT_EQ(config.server.listen, "127.0.0.1:8080");
    EXPECT_EQ(config.server.stateDir, "/var/lib/pyrunner");
    EXPECT_EQ(config.server.store, "");
    EXPECT_EQ(config.server.maxRunning, 3U);
    EXPECT_EQ(config.server.maxQueued, 64U);
    EXPECT_EQ(config.server.warmPool, 2U);
    EXPECT_TRUE(config.server.warmPools.empty());
    EXPECT_EQ(config.server.retentionSeconds, 86400U);
    EXPECT_EQ(config.server.diskBudgetMb, 10240U);
    EXPECT_EQ(config.server.httpThreads, 4U);
    EXPECT_EQ(config.limits.defaults, LimitPolicy::forCpus(3).defaults);
    EXPECT_EQ(config.limits.maxima, LimitPolicy::forCpus(3).maxima);
    EXPECT_EQ(config.auth, AuthSettings{});
    EXPECT_TRUE(config.auth.required);
    EXPECT_EQ(config.auth.tokensFile, "/etc/pyrunner/tokens");
    EXPECT_EQ(config.auth.failedAttemptsPerMinute, 10U);
}

TEST(ParseConfig, ReadsEverySetting)
{
    const auto config = parsed(R"(
[server]
listen = "[::1]:9000"
state_dir = "/srv/pyrunner"
store = "/srv/pyrunner/runs.sqlite3"
http_threads = 8
max_request_mb = 128
max_watchers = 32

[runs]
max_running = 6
max_queued = 0
warm_pool = 2
retention_seconds = 3600
disk_budget_mb = 512

[limits.default]
wall_time_s = 5
cpu_time_s = 4
memory_mb = 128
cpu_percent = 50
tasks = 32
output_bytes = 65536
disk_mb = 100
files_count = 10
files_bytes = 4096

[limits.max]
wall_time_s = 300
cpu_time_s = 200
memory_mb = 4096
cpu_percent = 800
tasks = 1024
output_bytes = 67108864
disk_mb = 8192
files_count = 5000
files_bytes = 1073741824
)");
    EXPECT_EQ(config.server.listen, "[::1]:9000");
    EXPECT_EQ(config.server.stateDir, "/srv/pyrunner");
    EXPECT_EQ(config.server.store, "/srv/pyrunner/runs.sqlite3");
    EXPECT_EQ(config.server.httpThreads, 8U);
    EXPECT_EQ(config.server.maxRunning, 6U);
    EXPECT_EQ(config.server.maxQueued, 0U);
    EXPECT_EQ(config.server.warmPool, 2U);
    EXPECT_EQ(config.server.retentionSeconds, 3600U);
    EXPECT_EQ(config.server.diskBudgetMb, 512U);
    EXPECT_EQ(config.server.maxRequestMb, 128U);
    EXPECT_EQ(config.server.maxWatchers, 32U);
    EXPECT_EQ(config.limits.defaults, (Limits{5, 4, 128, 50, 32, 65536, 100, 10, 4096}));
    EXPECT_EQ(config.limits.maxima,
              (Limits{300, 200, 4096, 800, 1024, 67108864, 8192, 5000, 1073741824}));
}

TEST(ParseConfig, ReadsTheAuthSection)
{
    const auto config = parsed(R"(
[auth]
required = false
tokens_file = "/srv/pyrunner/tokens"
failed_attempts_per_minute = 100000
)");
    EXPECT_EQ(config.auth, (AuthSettings{false, "/srv/pyrunner/tokens", 100000}));
}

TEST(ParseConfig, AuthKeysAreChecked)
{
    EXPECT_EQ(refusal("[auth]\nrequired = 1\n"),
              "/etc/pyrunner/pyrunner.toml:2: auth.required must be true or false.");
    EXPECT_EQ(
        refusal("[auth]\ntokens_file = \"tokens\"\n"),
        "/etc/pyrunner/pyrunner.toml:2: auth.tokens_file must be an absolute path in quotes.");
    EXPECT_EQ(refusal("[auth]\nfailed_attempts_per_minute = 0\n"),
              "/etc/pyrunner/pyrunner.toml:2: auth.failed_attempts_per_minute must be an integer "
              "from 1 to 100000.");
    EXPECT_EQ(refusal("[auth]\nfailed_attempts = 5\n"),
              "/etc/pyrunner/pyrunner.toml:2: unknown key auth.failed_attempts in [auth]; it takes "
              "required, tokens_file, failed_attempts_per_minute.");
}

TEST(ParseConfig, CallbacksAllowNoneByDefault)
{
    EXPECT_TRUE(parsed("").callbacks.allow.empty());
}

TEST(ParseConfig, ReadsTheCallbackPrefixes)
{
    const auto config = parsed(R"(
[callbacks]
allow = ["https://hooks.example/pyrunner/", "http://127.0.0.1:9000"]
)");
    EXPECT_EQ(config.callbacks.allow, (std::vector<std::string>{"https://hooks.example/pyrunner/",
                                                                "http://127.0.0.1:9000"}));
}

TEST(ParseConfig, CallbackPrefixesMustBeUrls)
{
    EXPECT_EQ(refusal("[callbacks]\nallow = \"https://hooks.example/\"\n"),
              "/etc/pyrunner/pyrunner.toml:2: callbacks.allow must be a list of URL prefixes in "
              "quotes, such as [\"https://hooks.example/\"].");
    EXPECT_EQ(refusal("[callbacks]\nallow = [\"ftp://hooks.example/\"]\n"),
              "/etc/pyrunner/pyrunner.toml:2: callbacks.allow holds \"ftp://hooks.example/\", "
              "which is not a URL a callback may go to: callback_url must start with http:// or "
              "https://.");
}

TEST(ParseConfig, ReadsTheEnvironmentsSection)
{
    const auto config = parsed("[environments]\ndirectory = \"/srv/envs\"\n"
                               "wheel_dir = \"/srv/wheels\"\nbuild_timeout_s = 60\n"
                               "build_memory_mb = 512\nbuild_max_mb = 100\n",
                               2);
    EXPECT_EQ(config.environments, (EnvironmentConfig{"/srv/envs", "/srv/wheels", 60, 512, 100}));
    EXPECT_EQ(refusal("[environments]\nbuild_memory_mb = 1\n"),
              "/etc/pyrunner/pyrunner.toml:2: environments.build_memory_mb must be an integer "
              "from 64 to 1048576.");
}

TEST(ParseConfig, ReadsWarmPoolsOfOtherEnvironments)
{
    const auto config = parsed("[runs]\nwarm_pools = { datascience = 1, mine = 0 }\n", 2);
    EXPECT_EQ(config.server.warmPools,
              (std::map<std::string, std::size_t>{{"datascience", 1}, {"mine", 0}}));
    EXPECT_EQ(config.server.warmPool, 2U);
    EXPECT_EQ(refusal("[runs]\nwarm_pools = { datascience = 65 }\n"),
              "/etc/pyrunner/pyrunner.toml:2: runs.warm_pools must map environment names to an "
              "integer from 0 to 64.");
    EXPECT_EQ(refusal("[runs]\nwarm_pools = { default = 1 }\n"),
              "/etc/pyrunner/pyrunner.toml:2: runs.warm_pools may not name the default "
              "environment, whose size is warm_pool.");
    EXPECT_EQ(refusal("[runs]\nwarm_pools = 1\n"),
              "/etc/pyrunner/pyrunner.toml:2: runs.warm_pools must be a table of environment "
              "names to sizes, such as { datascience = 1 }.");
}

TEST(WarmPoolFor, IsANameAndASizeWithinBounds)
{
    EXPECT_EQ(parseWarmPoolFor("datascience=1"),
              (std::pair<std::string, std::size_t>{"datascience", 1}));
    EXPECT_EQ(parseWarmPoolFor("mine=64"), (std::pair<std::string, std::size_t>{"mine", 64}));
    EXPECT_FALSE(parseWarmPoolFor("datascience=65"));
    EXPECT_FALSE(parseWarmPoolFor("datascience="));
    EXPECT_FALSE(parseWarmPoolFor("datascience=-1"));
    EXPECT_FALSE(parseWarmPoolFor("../x=1"));
    EXPECT_FALSE(parseWarmPoolFor("datascience"));
    ServerSettings settings;
    setWarmPool(settings, "default", 5);
    setWarmPool(settings, "datascience", 1);
    EXPECT_EQ(settings.warmPool, 5U);
    EXPECT_EQ(settings.warmPools, (std::map<std::string, std::size_t>{{"datascience", 1}}));
}

TEST(ParseConfig, DottedKeysAreTheSameAsTables)
{
    const auto config = parsed("limits.max.memory_mb = 1024\nruns.max_queued = 5\n");
    EXPECT_EQ(config.limits.maxima.memoryMb, 1024U);
    EXPECT_EQ(config.server.maxQueued, 5U);
}

TEST(ParseConfig, UnknownKeyNamesFileLineAndTheKnownKeys)
{
    EXPECT_EQ(refusal("[runs]\n\nmax_runing = 4\n"),
              "/etc/pyrunner/pyrunner.toml:3: unknown key runs.max_runing in [runs]; it takes "
              "max_running, max_queued, warm_pool, warm_pools, retention_seconds, disk_budget_mb.");
}

TEST(ParseConfig, UnknownSectionIsRefused)
{
    EXPECT_EQ(refusal("[server]\n[sever]\nlisten = \"x:1\"\n"),
              "/etc/pyrunner/pyrunner.toml:2: unknown section [sever]; the sections are server, "
              "runs, limits, environments, auth, callbacks.");
}

TEST(ParseConfig, KeyOutsideAnySectionIsRefused)
{
    EXPECT_EQ(refusal("listen = \"127.0.0.1:1\"\n"),
              "/etc/pyrunner/pyrunner.toml:1: listen must be inside a section; the sections are "
              "server, runs, limits, environments, auth, callbacks.");
}

TEST(ParseConfig, UnknownLimitIsRefused)
{
    EXPECT_EQ(
        refusal("[limits.max]\nmemory = 5\n"),
        "/etc/pyrunner/pyrunner.toml:2: unknown key limits.max.memory in [limits.max]; it "
        "takes wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks, output_bytes, disk_mb, "
        "files_count, files_bytes.");
    EXPECT_EQ(refusal("[limits.maximum]\n"),
              "/etc/pyrunner/pyrunner.toml:1: unknown key limits.maximum in [limits]; it takes "
              "default, max.");
}

TEST(ParseConfig, ValueOutOfRangeIsRefusedWithTheRange)
{
    EXPECT_EQ(refusal("[runs]\nmax_running = 0\n"),
              "/etc/pyrunner/pyrunner.toml:2: runs.max_running must be an integer from 1 to 1024.");
    EXPECT_EQ(
        refusal("[runs]\nmax_queued = -1\n"),
        "/etc/pyrunner/pyrunner.toml:2: runs.max_queued must be an integer from 0 to 100000.");
}

TEST(ParseConfig, WrongTypeIsRefused)
{
    EXPECT_EQ(
        refusal("[server]\nhttp_threads = \"4\"\n"),
        "/etc/pyrunner/pyrunner.toml:2: server.http_threads must be an integer from 1 to 256.");
    EXPECT_EQ(
        refusal("[runs]\nmax_queued = 1.5\n"),
        "/etc/pyrunner/pyrunner.toml:2: runs.max_queued must be an integer from 0 to 100000.");
    EXPECT_EQ(refusal("server = 3\n"),
              "/etc/pyrunner/pyrunner.toml:1: server must be a table, written [server].");
}

TEST(ParseConfig, MaximaAreHeldWithinHardBounds)
{
    EXPECT_EQ(refusal("[limits.max]\nmemory_mb = 2000000\n"),
              "/etc/pyrunner/pyrunner.toml:2: limits.max.memory_mb must be an integer from 1 to "
              "1048576.");
    EXPECT_EQ(refusal("[limits.default]\ntasks = 0\n"),
              "/etc/pyrunner/pyrunner.toml:2: limits.default.tasks must be an integer from 1 to "
              "65536.");
    EXPECT_EQ(refusal("[limits.max]\ndisk_mb = 65537\n"),
              "/etc/pyrunner/pyrunner.toml:2: limits.max.disk_mb must be an integer from 1 to "
              "65536.");
    EXPECT_EQ(refusal("[limits.default]\ndisk_mb = 0\n"),
              "/etc/pyrunner/pyrunner.toml:2: limits.default.disk_mb must be an integer from 1 to "
              "65536.");
    const auto hard = hardLimitBounds();
    EXPECT_EQ(hard.wallTimeS, 86400U);
    EXPECT_EQ(hard.outputBytes, 1024ULL * 1024ULL * 1024ULL);
    EXPECT_EQ(hard.diskMb, 65536U);
}

TEST(ParseConfig, DefaultAboveItsMaximumPointsAtTheDefault)
{
    EXPECT_EQ(refusal("[limits.max]\nwall_time_s = 30\n[limits.default]\nwall_time_s = 40\n"),
              "/etc/pyrunner/pyrunner.toml:4: limits.default.wall_time_s (40) must not exceed "
              "limits.max.wall_time_s (30).");
}

TEST(ParseConfig, MaximumBelowTheBuiltInDefaultPointsAtTheMaximum)
{
    EXPECT_EQ(refusal("[limits.max]\nmemory_mb = 100\n"),
              "/etc/pyrunner/pyrunner.toml:2: limits.default.memory_mb (256) must not exceed "
              "limits.max.memory_mb (100).");
}

TEST(ParseConfig, BadListenAddressIsRefused)
{
    EXPECT_EQ(refusal("[server]\nlisten = \"8080\"\n"),
              "/etc/pyrunner/pyrunner.toml:2: server.listen must be \"ADDR:PORT\", such as "
              "\"127.0.0.1:8080\" or \"[::1]:8080\".");
}

TEST(ParseConfig, RelativePathIsRefused)
{
    EXPECT_EQ(
        refusal("[server]\nstate_dir = \"var/lib\"\n"),
        "/etc/pyrunner/pyrunner.toml:2: server.state_dir must be an absolute path in quotes.");
}

TEST(ParseConfig, SyntaxErrorNamesTheLine)
{
    const auto message = refusal("[runs]\nmax_queued = 4\nmax_queued = 5\n");
    EXPECT_EQ(message.rfind("/etc/pyrunner/pyrunner.toml:3: not valid TOML: ", 0), 0U) << message;
    EXPECT_EQ(message.back(), '.');
}

TEST(LoadConfig, AMissingFileIsTheDefaultsUnlessRequired)
{
    const std::string missing = "/nonexistent/pyrunner.toml";
    EXPECT_TRUE(std::holds_alternative<Config>(loadConfig(missing, false, rules())));
    const auto result = loadConfig(missing, true, rules());
    ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
    EXPECT_EQ(std::get<ConfigError>(result).message,
              "/nonexistent/pyrunner.toml: cannot be read: No such file or directory.");
}

TEST(LoadConfig, ReadsTheFile)
{
    char name[] = "/tmp/pyrunner-config-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(name) << "[runs]\nmax_queued = 7\n";
    const auto result = loadConfig(name, true, rules());
    std::remove(name);
    ASSERT_TRUE(std::holds_alternative<Config>(result));
    EXPECT_EQ(std::get<Config>(result).server.maxQueued, 7U);
}

// The file the packages install: every commented-out key, uncommented, is valid and is the
// built-in default it says it is.
TEST(ShippedConfig, EveryExampleIsTheDefault)
{
    std::ifstream file(PYRUNNER_SHIPPED_CONFIG);
    ASSERT_TRUE(file) << PYRUNNER_SHIPPED_CONFIG;
    std::string text;
    std::size_t examples = 0;
    const std::regex example("^# ([a-z_]+ = .*)$");
    for (std::string line; std::getline(file, line);)
    {
        std::smatch match;
        if (std::regex_match(line, match, example))
        {
            line = match[1];
            ++examples;
        }
        text += line + "\n";
    }
    EXPECT_EQ(examples, 37U);
    const auto shipped = parsed(text, 4);
    auto expected = defaultConfig(4);
    expected.server.store = expected.server.stateDir + "/front/runs.sqlite3";
    EXPECT_EQ(shipped.server, expected.server);
    EXPECT_EQ(shipped.limits.defaults, expected.limits.defaults);
    EXPECT_EQ(shipped.limits.maxima, expected.limits.maxima);
    EXPECT_EQ(shipped.callbacks, expected.callbacks);
    EXPECT_EQ(shipped.environments, expected.environments);
    EXPECT_EQ(shipped.auth, expected.auth);
}

} // namespace
} // namespace pyrunner::core
