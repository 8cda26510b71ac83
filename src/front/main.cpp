// pyrunnerd: the HTTP front of pyrunner. Runs as an unprivileged user and asks the
// privileged pyrunner-broker for every run. Wiring only: parses the command line, connects
// the layers, and waits for SIGINT or SIGTERM.

#include "common/limits.hpp"
#include "common/run_files.hpp"
#include "config/cli_bound.hpp"
#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/journal.hpp"
#include "front/auth/authenticator.hpp"
#include "front/auth/token_command.hpp"
#include "front/broker_link/broker_client.hpp"
#include "front/broker_link/env_client.hpp"
#include "front/callbacks/callback_client.hpp"
#include "front/callbacks/deliverer.hpp"
#include "front/callbacks/server_key.hpp"
#include "front/http/event_streams.hpp"
#include "front/http/listen_address.hpp"
#include "front/http/probe.hpp"
#include "front/http/run_json.hpp"
#include "front/http/server.hpp"
#include "front/journal_events.hpp"
#include "front/runs/metrics.hpp"
#include "front/runs/retention.hpp"
#include "front/runs/run_manager.hpp"
#include "front/service_status.hpp"
#include "front/store/run_store.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string_view>
#include <syslog.h>
#include <unistd.h>
#include <variant>

namespace
{

// Exit status for a configuration that cannot be used (sysexits.h's EX_CONFIG); the unit
// does not restart on it (RestartPreventExitStatus=), since a restart would not fix it.
constexpr int exitBadConfig = 78;

// The flags, each of which overrides its key in the configuration file when given.
struct Flags
{
    std::string config{pyrunner::core::defaultConfigPath};
    bool checkConfig = false;
    std::optional<std::string> listen;
    std::optional<std::string> stateDir;
    std::optional<std::string> store;
    std::optional<std::size_t> maxRunning;
    std::optional<std::size_t> maxQueued;
    std::optional<std::size_t> warmPool;
    // NAME=K, each setting one environment's warm pool over the file's.
    std::vector<std::string> warmPoolFor;
    std::optional<unsigned> retentionSeconds;
    std::optional<std::uint64_t> diskBudgetMb;
    std::optional<unsigned> httpThreads;
    std::optional<std::uint64_t> maxRequestMb;
    std::optional<std::size_t> maxWatchers;
};

// pyrunnerd env create NAME --requirements FILE [--find-links DIR]
struct CreateCommand
{
    std::string name;
    std::string requirements;
    // Empty: the broker's --wheel-dir.
    std::string findLinks;
};

CLI::App* addCreateCommand(CLI::App& app, CreateCommand& c)
{
    auto* env = app.add_subcommand("env", "manage Python environments (as root)");
    env->require_subcommand(1);
    auto* create = env->add_subcommand(
        "create", "build an environment from a requirements file in a sandboxed unit of its own");
    create->add_option("name", c.name, "the new environment's name")->required();
    create->add_option("--requirements", c.requirements, "the requirements file")
        ->required()
        ->check(CLI::ExistingFile);
    create
        ->add_option("--find-links", c.findLinks,
                     "the directory of wheels to install from (default: the broker's "
                     "--wheel-dir)")
        ->check(CLI::ExistingDirectory);
    return create;
}

int createEnvironment(const CreateCommand& c)
{
    constexpr std::size_t maxRequirementsBytes = 1024ULL * 1024ULL;
    // The broker's own limit on a build comes first; this only bounds the wait.
    constexpr std::chrono::hours maxWait{2};
    std::ifstream in(c.requirements);
    const std::string text(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof())
    {
        std::cerr << "pyrunnerd: cannot read " << c.requirements << "\n";
        return 1;
    }
    if (text.size() > maxRequirementsBytes)
    {
        std::cerr << "pyrunnerd: " << c.requirements << " is larger than 1 MiB\n";
        return 1;
    }
    const auto findLinks =
        c.findLinks.empty() ? c.findLinks : std::filesystem::absolute(c.findLinks).string();
    const auto result = pyrunner::systemd::createEnvironment(c.name, text, findLinks, maxWait);
    (result.created ? std::cout : std::cerr) << result.message << "\n";
    if (result.created)
    {
        std::cout << "pyrunnerd: environment " << c.name << " created\n";
    }
    return result.created ? 0 : 1;
}

void addOptions(CLI::App& app, Flags& f)
{
    namespace bounds = pyrunner::core::bounds;
    using pyrunner::core::cliRange;
    app.add_option("--config", f.config, "the configuration file; flags override its keys")
        ->capture_default_str();
    app.add_flag("--check-config", f.checkConfig,
                 "check the configuration file, say what is wrong, and exit (0: valid)");
    app.add_option("--listen", f.listen, "ADDR:PORT to serve HTTP on (127.0.0.1:8080)")
        ->check([](const std::string& text) {
            return pyrunner::http::parseListenAddress(text) ? std::string{}
                                                            : std::string{"must be ADDR:PORT"};
        });
    app.add_option("--state-dir", f.stateDir,
                   "where the broker keeps runs' output (/var/lib/pyrunner)");
    app.add_option("--max-running", f.maxRunning, "runs at once (the number of CPUs)")
        ->check(cliRange(bounds::maxRunning));
    app.add_option("--max-queued", f.maxQueued, "runs waiting behind them (64)")
        ->check(cliRange(bounds::maxQueued));
    app.add_option("--warm-pool", f.warmPool,
                   "warm units kept ready for runs of the default environment (0: none)")
        ->check(cliRange(bounds::warmPool));
    app.add_option("--warm-pool-for", f.warmPoolFor,
                   "NAME=K: warm units kept ready for runs of environment NAME (repeatable)")
        ->check([](const std::string& text) {
            return pyrunner::core::parseWarmPoolFor(text)
                       ? std::string{}
                       : std::string{"must be NAME=K, an environment name and 0 to 64"};
        });
    app.add_option("--store", f.store, "the run store (<state-dir>/front/runs.sqlite3)");
    app.add_option("--retention-seconds", f.retentionSeconds,
                   "how long a finished run and its output are kept (86400)")
        ->check(cliRange(bounds::retentionSeconds));
    app.add_option("--disk-budget-mb", f.diskBudgetMb,
                   "output of finished runs kept at most; the oldest go first (10240)")
        ->check(cliRange(bounds::diskBudgetMb));
    app.add_option("--http-threads", f.httpThreads, "HTTP worker threads (4)")
        ->check(cliRange(bounds::httpThreads));
    app.add_option("--max-request-mb", f.maxRequestMb,
                   "the largest request body in MiB, files and archive included (64)")
        ->check(cliRange(bounds::maxRequestMb));
    app.add_option("--max-watchers", f.maxWatchers,
                   "event streams (GET /runs/{id}/events) open at once (256)")
        ->check(cliRange(bounds::maxWatchers));
}

template <typename T> void applyFlag(const std::optional<T>& flag, T& setting)
{
    if (flag)
    {
        setting = *flag;
    }
}

void applyFlags(const Flags& f, pyrunner::core::ServerSettings& s)
{
    applyFlag(f.listen, s.listen);
    applyFlag(f.stateDir, s.stateDir);
    applyFlag(f.store, s.store);
    applyFlag(f.maxRunning, s.maxRunning);
    applyFlag(f.maxQueued, s.maxQueued);
    applyFlag(f.warmPool, s.warmPool);
    for (const auto& text : f.warmPoolFor)
    {
        const auto pool = pyrunner::core::parseWarmPoolFor(text);
        pyrunner::core::setWarmPool(s, pool->first, pool->second);
    }
    applyFlag(f.retentionSeconds, s.retentionSeconds);
    applyFlag(f.diskBudgetMb, s.diskBudgetMb);
    applyFlag(f.httpThreads, s.httpThreads);
    applyFlag(f.maxRequestMb, s.maxRequestMb);
    applyFlag(f.maxWatchers, s.maxWatchers);
}

pyrunner::core::TenantShare shareOf(const pyrunner::auth::Tenant& tenant)
{
    return {tenant.maxRunning, tenant.maxQueued, tenant.caps};
}

std::variant<pyrunner::http::Caller, pyrunner::http::CallerRefused>
callerOf(pyrunner::auth::Authenticator& authenticator, const pyrunner::http::Request& request)
{
    using pyrunner::auth::AuthRefusal;
    using pyrunner::http::CallerRefused;
    auto known = authenticator.authenticate(request.authorization, request.client,
                                            pyrunner::auth::Authenticator::Clock::now());
    if (const auto* tenant = std::get_if<pyrunner::auth::Tenant>(&known))
    {
        return pyrunner::http::Caller{tenant->name, tenant->admin, shareOf(*tenant),
                                      !tenant->callbackKey.empty()};
    }
    const auto refusal = std::get<AuthRefusal>(known);
    const auto kind = refusal.kind == AuthRefusal::Kind::Missing   ? CallerRefused::Kind::Missing
                      : refusal.kind == AuthRefusal::Kind::Invalid ? CallerRefused::Kind::Invalid
                                                                   : CallerRefused::Kind::Throttled;
    return CallerRefused{kind, static_cast<unsigned>(refusal.retryAfter.count())};
}

// The operator's journal hears of each callback that was delivered or given up, and of a store
// that failed the deliverer; the metrics count every attempt.
void reportCallback(pyrunner::core::Metrics& metrics, const pyrunner::core::DeliveryReport& report)
{
    using namespace pyrunner;
    using core::CallbackState;
    if (report.callback.runId.empty())
    {
        systemd::logMessage(LOG_ERR, "pyrunnerd could not read or record callbacks: " +
                                         report.outcome.error);
        return;
    }
    metrics.callbackAttempted(report.state);
    if (report.state == CallbackState::Pending)
    {
        return;
    }
    const auto& callback = report.callback;
    const auto answer = report.outcome.status != 0
                            ? "status " + std::to_string(report.outcome.status)
                            : report.outcome.error;
    const bool delivered = report.state == CallbackState::Delivered;
    const auto message =
        delivered
            ? "Callback of run " + callback.runId + " delivered to " + callback.url + " (attempt " +
                  std::to_string(report.attempts) + ")."
            : "Callback of run " + callback.runId + " to " + callback.url + " given up after " +
                  std::to_string(report.attempts) + " attempts: " + answer + ".";
    systemd::send({delivered ? LOG_INFO : LOG_WARNING,
                   message,
                   systemd::message_ids::callbackEnded,
                   {{"RUN_ID", callback.runId},
                    {"TENANT", callback.tenant},
                    {"CALLBACK_URL", callback.url},
                    {"CALLBACK_ATTEMPTS", std::to_string(report.attempts)},
                    {"CALLBACK_ANSWER", answer}}});
}

// Returns on SIGINT or SIGTERM. Under WatchdogSec= it meanwhile pings systemd's watchdog, each
// time only after the server has answered a request of its own over HTTP: a server whose
// event loop or run lifecycle hangs is restarted, not kept alive by a timer.
void serveUntilStopped(const pyrunner::systemd::StopSignals& stopSignals, const std::string& host,
                       std::uint16_t port)
{
    using namespace pyrunner;
    const systemd::Watchdog watchdog;
    const auto period = watchdog.period();
    if (!period)
    {
        stopSignals.wait();
        return;
    }
    while (!stopSignals.waitFor(*period))
    {
        if (http::answersHttp(host, port, *period))
        {
            systemd::Watchdog::ping();
        }
        else
        {
            systemd::logMessage(LOG_WARNING,
                                "pyrunnerd did not answer its own request in time; the "
                                "watchdog goes without its ping");
        }
    }
}

int serve(const pyrunner::core::Config& config)
{
    using namespace pyrunner;
    const auto& s = config.server;
    const auto listen = http::parseListenAddress(s.listen);
    if (!listen)
    {
        std::cerr << "pyrunnerd: --listen must be ADDR:PORT, got \"" << s.listen << "\"\n";
        return 2;
    }
    // Before any thread starts, so that every thread inherits the mask.
    const systemd::StopSignals stopSignals;

    const core::RunFiles files(s.stateDir);
    core::RunStore store(s.store.empty() ? s.stateDir + "/front/runs.sqlite3" : s.store);
    // The front's own bus connection gone, no run can be followed from this process: it
    // stops, and systemd starts it again (Restart=on-failure), to follow them anew.
    std::atomic<bool> busLost{false};
    const auto metrics = std::make_shared<core::Metrics>();
    // Set once the manager has taken over: a broker's new environment gets its warm units.
    std::atomic<core::RunManager*> pools{nullptr};
    systemd::BrokerClient sandbox(
        [&busLost] {
        busLost = true;
        systemd::logMessage(LOG_ERR, "pyrunnerd lost its connection to the system bus; stopping");
        ::kill(::getpid(), SIGTERM);
        },
        [metrics] { metrics->brokerReconnected(); },
        [&pools] {
        if (auto* manager = pools.load())
        {
            manager->environmentsChanged();
        }
    });
    core::RetentionOptions retentionOptions;
    retentionOptions.maxAge = std::chrono::seconds(s.retentionSeconds);
    retentionOptions.diskBudgetBytes = s.diskBudgetMb * http::mebibyte;
    core::Retention retention(store, sandbox, retentionOptions, {});
    core::RunManagerOptions managerOptions;
    managerOptions.maxRunning = s.maxRunning;
    managerOptions.maxQueued = s.maxQueued;
    managerOptions.warmPools = s.warmPools;
    managerOptions.warmPools[std::string(core::defaultEnvironment)] = s.warmPool;
    managerOptions.warmLimits = config.limits.defaults;
    managerOptions.filesIn =
        std::make_shared<const core::FilesInStore>(s.stateDir + "/front/files-in");
    // Without authentication every run is the tenant "", whose pools are kept from the start;
    // with it, those of the tenants that submitted last before the server stopped.
    std::optional<auth::Authenticator> authenticator;
    if (config.auth.required)
    {
        authenticator.emplace(config.auth.tokensFile, config.auth.failedAttemptsPerMinute,
                              [](const std::string& message) {
            systemd::logMessage(LOG_WARNING, "pyrunnerd: " + message);
        });
        managerOptions.warmTenants = store.recentTenants(core::maxWarmTenants);
        if (managerOptions.warmTenants.empty())
        {
            // No run yet: the pools wait for the tenants an operator made, admins first.
            managerOptions.warmTenants = authenticator->tenantNames();
        }
        managerOptions.shareOf = [&authenticator](const std::string& tenant) {
            const auto known = authenticator->tenant(tenant);
            return known ? std::optional(shareOf(*known)) : std::nullopt;
        };
    }
    else
    {
        managerOptions.warmTenants = {""};
    }
    // Signs callbacks: each tenant's own key, or without tenants the server's, made on first
    // need (no key and no callback without an allowed prefix).
    core::CallbackDeliverer::KeyOf keyOf = [](const std::string& /*tenant*/) {
        return std::optional<std::string>{};
    };
    if (authenticator)
    {
        keyOf = [&authenticator](const std::string& tenant) -> std::optional<std::string> {
            const auto known = authenticator->tenant(tenant);
            return known && !known->callbackKey.empty() ? std::optional(known->callbackKey)
                                                        : std::nullopt;
        };
    }
    else if (!config.callbacks.allow.empty())
    {
        keyOf = [key = core::serverCallbackKey(s.stateDir + "/front/callback.key")](
                    const std::string& /*tenant*/) { return std::optional(key); };
    }
    // The Run object as GET /runs/{id} answers it: a finished run, from the store and its files.
    const auto runDocument = [&store, &files](const std::string& id) -> std::optional<std::string> {
        const auto run = store.find(id);
        if (!run)
        {
            return std::nullopt;
        }
        return http::dumpJson(http::runToJson(core::viewWithOutput(*run, files)));
    };
    core::CallbackClient callbackClient;
    core::CallbackDeliverer callbacks(
        store, runDocument, keyOf,
        [&callbackClient](const core::CallbackRequest& request, const std::atomic<bool>& stopping) {
        return callbackClient.post(request, stopping);
        },
        [metrics](const core::DeliveryReport& report) { reportCallback(*metrics, report); });
    systemd::JournalEvents journal;
    core::OnFinished pokeRetention([&retention, &callbacks](const core::Run& run) {
        retention.poke();
        if (run.callbackUrl)
        {
            callbacks.poke();
        }
    });
    systemd::ServiceStatus status("Serving on " + s.listen);
    http::EventStreamsOptions streamsOptions;
    streamsOptions.maxWatchers = s.maxWatchers;
    const auto streams = std::make_shared<http::EventStreams>(streamsOptions);
    core::RunEventsFanOut events({journal, *metrics, status, pokeRetention, *streams});
    core::RunManager manager(sandbox, files, store, managerOptions, events);
    status.follow(manager);
    const auto recovery = manager.recover();
    pools = &manager;
    retention.start();
    streams->start(manager);
    // After the takeover: what an earlier server left pending goes out first.
    callbacks.start();
    for (const auto& stray : recovery.strays)
    {
        systemd::logMessage(LOG_WARNING, "pyrunnerd stopped " + sandbox.unitName(stray) +
                                             ": no server follows that run");
    }
    systemd::logMessage(LOG_INFO, "pyrunnerd took over " + std::to_string(recovery.followed) +
                                      " unfinished runs from the store");

    http::ServerOptions serverOptions;
    serverOptions.address = listen->host;
    serverOptions.port = listen->port;
    serverOptions.threads = s.httpThreads;
    serverOptions.maxBodyBytes = s.maxRequestMb * http::mebibyte;
    serverOptions.limits = config.limits;
    serverOptions.metrics = metrics;
    serverOptions.streams = streams;
    serverOptions.callbackAllow = config.callbacks.allow;
    if (authenticator)
    {
        serverOptions.authenticate = [&authenticator](const http::Request& request) {
            return callerOf(*authenticator, request);
        };
    }
    http::Server server(manager, serverOptions);
    server.start();
    // Under Type=notify, systemd (and `systemd-run`) learn here that the bus is connected and
    // requests are served.
    status.ready();
    systemd::logMessage(LOG_INFO, "pyrunnerd listening on " + s.listen);
    std::cerr << "pyrunnerd: listening on " << s.listen << "\n";

    serveUntilStopped(stopSignals, listen->host, server.port());
    status.stopping();
    systemd::logMessage(LOG_INFO, "pyrunnerd stopping");
    // Blocking callers get a 503 that says where to poll; the runs go on under systemd, and
    // the store already holds everything the next start needs.
    server.shutdown();
    streams->stop();
    // No sandbox callback may reach the manager once it is gone.
    sandbox.stop();
    return busLost ? 1 : 0;
}

// How the configuration file is checked: the listen address as --listen is.
pyrunner::core::ConfigRules configRules()
{
    pyrunner::core::ConfigRules rules;
    rules.isListenAddress = [](std::string_view text) {
        return pyrunner::http::parseListenAddress(text).has_value();
    };
    return rules;
}

// The file's settings with the flags over them; on a fault, a sentence and the exit status.
std::variant<pyrunner::core::Config, int> configure(const Flags& flags, bool explicitFile)
{
    using namespace pyrunner;
    auto loaded = core::loadConfig(flags.config, explicitFile, configRules());
    if (const auto* error = std::get_if<core::ConfigError>(&loaded))
    {
        std::cerr << "pyrunnerd: " << error->message << "\n";
        if (!flags.checkConfig)
        {
            systemd::logMessage(LOG_CRIT, "pyrunnerd: " + error->message);
        }
        return flags.checkConfig ? 1 : exitBadConfig;
    }
    auto config = std::get<core::Config>(std::move(loaded));
    applyFlags(flags, config.server);
    return config;
}

// pyrunnerd token ...: on the file --tokens names, or else on [auth] tokens_file of the
// configuration file.
int manageTokens(const pyrunner::auth::TokenCommandLine& line, const Flags& flags,
                 bool explicitFile)
{
    using namespace pyrunner;
    auto tokensFile = line.tokensFile;
    if (!tokensFile)
    {
        auto loaded = core::loadConfig(flags.config, explicitFile, configRules());
        if (const auto* error = std::get_if<core::ConfigError>(&loaded))
        {
            std::cerr << "pyrunnerd: " << error->message << "\n";
            return 1;
        }
        tokensFile = std::get<core::Config>(loaded).auth.tokensFile;
    }
    return auth::runTokenCommand(line, *tokensFile, std::cout, std::cerr);
}

} // namespace

int main(int argc, char** argv)
{
    return pyrunner::systemd::runDaemon("pyrunnerd", [argc, argv] {
        CLI::App app{"pyrunnerd: runs Python submissions in sandboxed transient systemd units"};
        Flags flags;
        addOptions(app, flags);
        CreateCommand create;
        const auto* createCommand = addCreateCommand(app, create);
        pyrunner::auth::TokenCommandLine token;
        const auto* tokenCommand = pyrunner::auth::addTokenCommand(app, token);
        CLI11_PARSE(app, argc, argv);
        if (createCommand->parsed())
        {
            return createEnvironment(create);
        }
        const bool explicitFile = app.get_option("--config")->count() > 0;
        if (tokenCommand->parsed())
        {
            return manageTokens(token, flags, explicitFile);
        }
        auto configured = configure(flags, explicitFile);
        if (const int* status = std::get_if<int>(&configured))
        {
            return *status;
        }
        if (flags.checkConfig)
        {
            std::cout << flags.config
                      << (explicitFile || ::access(flags.config.c_str(), F_OK) == 0
                              ? ": valid\n"
                              : ": not there; the built-in defaults apply\n");
            return 0;
        }
        return serve(std::get<pyrunner::core::Config>(configured));
    });
}
