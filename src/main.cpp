// pyrunnerd: the HTTP front of pyrunner. Runs as an unprivileged user and asks the
// privileged pyrunner-broker for every run. Wiring only: parses the command line, connects
// the layers, and waits for SIGINT or SIGTERM.

#include "core/limits.hpp"
#include "core/retention.hpp"
#include "core/run_files.hpp"
#include "core/run_manager.hpp"
#include "core/run_store.hpp"
#include "http/listen_address.hpp"
#include "http/server.hpp"
#include "systemd/broker_client.hpp"
#include "systemd/daemon.hpp"
#include "systemd/env_client.hpp"
#include "systemd/journal.hpp"

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <syslog.h>
#include <thread>
#include <unistd.h>

namespace
{

struct Settings
{
    std::string listen = "127.0.0.1:8080";
    std::string stateDir = "/var/lib/pyrunner";
    // Empty: <stateDir>/front/runs.sqlite3.
    std::string store;
    std::size_t maxRunning = std::max(1U, std::thread::hardware_concurrency());
    std::size_t maxQueued = 64;
    // Off until a warm unit's stop-post helper no longer opens the handover FIFO as its
    // stdin, which waits when no broker holds the FIFO (docs/performance.md).
    std::size_t warmPool = 0;
    // A day.
    unsigned retentionSeconds = 86400;
    std::uint64_t diskBudgetMb = 10240;
    unsigned httpThreads = 4;
};

void addOptions(CLI::App& app, Settings& s)
{
    app.add_option("--listen", s.listen, "ADDR:PORT to serve HTTP on")->capture_default_str();
    app.add_option("--state-dir", s.stateDir, "where the broker keeps runs' output")
        ->capture_default_str();
    app.add_option("--max-running", s.maxRunning, "runs at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--max-queued", s.maxQueued, "runs waiting behind them")
        ->capture_default_str()
        ->check(CLI::Range(0, 100000));
    app.add_option("--warm-pool", s.warmPool,
                   "warm units kept ready for runs of the default environment (0: none)")
        ->capture_default_str()
        ->check(CLI::Range(0, 64));
    app.add_option("--store", s.store, "the run store (default <state-dir>/front/runs.sqlite3)");
    app.add_option("--retention-seconds", s.retentionSeconds,
                   "how long a finished run and its output are kept")
        ->capture_default_str()
        ->check(CLI::Range(1, 366 * 86400));
    app.add_option("--disk-budget-mb", s.diskBudgetMb,
                   "output of finished runs kept at most; the oldest go first")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--http-threads", s.httpThreads, "HTTP worker threads")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
}

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

int serve(const Settings& s)
{
    using namespace pyrunner;
    const auto listen = http::parseListenAddress(s.listen);
    if (!listen)
    {
        std::cerr << "pyrunnerd: --listen must be ADDR:PORT, got \"" << s.listen << "\"\n";
        return 2;
    }
    // Before any thread starts, so that every thread inherits the mask.
    const systemd::StopSignals stopSignals;

    const auto cpus = std::max(1U, std::thread::hardware_concurrency());
    const core::RunFiles files(s.stateDir);
    core::RunStore store(s.store.empty() ? s.stateDir + "/front/runs.sqlite3" : s.store);
    // The front's own bus connection gone, no run can be followed from this process: it
    // stops, and systemd starts it again (Restart=on-failure), to follow them anew.
    std::atomic<bool> busLost{false};
    systemd::BrokerClient sandbox([&busLost] {
        busLost = true;
        systemd::logMessage(LOG_ERR, "pyrunnerd lost its connection to the system bus; stopping");
        ::kill(::getpid(), SIGTERM);
    });
    core::RetentionOptions retentionOptions;
    retentionOptions.maxAge = std::chrono::seconds(s.retentionSeconds);
    retentionOptions.diskBudgetBytes = s.diskBudgetMb * http::mebibyte;
    core::Retention retention(store, sandbox, retentionOptions, {});
    core::RunManagerOptions managerOptions;
    managerOptions.maxRunning = s.maxRunning;
    managerOptions.maxQueued = s.maxQueued;
    managerOptions.warmPool = s.warmPool;
    core::RunManager manager(sandbox, files, store, managerOptions,
                             [&retention](const core::Run& run) {
        systemd::logRunFinished(run);
        retention.poke();
    });
    const auto recovery = manager.recover();
    retention.start();
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
    serverOptions.limits = core::LimitPolicy::forCpus(cpus);
    http::Server server(manager, serverOptions);
    server.start();
    // Under Type=notify, systemd (and `systemd-run`) learn here that requests are served.
    sd_notifyf(0, "READY=1\nSTATUS=Listening on %s", s.listen.c_str());
    systemd::logMessage(LOG_INFO, "pyrunnerd listening on " + s.listen);
    std::cerr << "pyrunnerd: listening on " << s.listen << "\n";

    stopSignals.wait();
    sd_notify(0, "STOPPING=1");
    systemd::logMessage(LOG_INFO, "pyrunnerd stopping");
    // Blocking callers get a 503 that says where to poll; the runs go on under systemd, and
    // the store already holds everything the next start needs.
    server.shutdown();
    // No sandbox callback may reach the manager once it is gone.
    sandbox.stop();
    return busLost ? 1 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    return pyrunner::systemd::runDaemon("pyrunnerd", [argc, argv] {
        CLI::App app{"pyrunnerd: runs Python submissions in sandboxed transient systemd units"};
        Settings settings;
        addOptions(app, settings);
        CreateCommand create;
        const auto* createCommand = addCreateCommand(app, create);
        CLI11_PARSE(app, argc, argv);
        if (createCommand->parsed())
        {
            return createEnvironment(create);
        }
        return serve(settings);
    });
}
