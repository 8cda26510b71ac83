// pyrunnerd: the HTTP front of pyrunner. Runs as an unprivileged user and asks the
// privileged pyrunner-broker for every run. Wiring only: parses the command line, connects
// the layers, and waits for SIGINT or SIGTERM.

#include "core/limits.hpp"
#include "core/run_files.hpp"
#include "core/run_manager.hpp"
#include "http/listen_address.hpp"
#include "http/server.hpp"
#include "systemd/broker_client.hpp"
#include "systemd/daemon.hpp"
#include "systemd/journal.hpp"

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include <iostream>
#include <syslog.h>
#include <thread>

namespace
{

struct Settings
{
    std::string listen = "127.0.0.1:8080";
    std::string stateDir = "/var/lib/pyrunner";
    std::size_t maxRunning = std::max(1U, std::thread::hardware_concurrency());
    std::size_t maxQueued = 64;
    std::size_t maxFinished = 10000;
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
    app.add_option("--max-finished-runs", s.maxFinished, "finished runs kept for reading")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000000));
    app.add_option("--http-threads", s.httpThreads, "HTTP worker threads")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
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
    systemd::BrokerClient sandbox;
    core::RunManagerOptions managerOptions;
    managerOptions.maxRunning = s.maxRunning;
    managerOptions.maxQueued = s.maxQueued;
    managerOptions.maxFinished = s.maxFinished;
    core::RunManager manager(sandbox, files, managerOptions, systemd::logRunFinished);

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
    server.shutdown();
    // No sandbox callback may reach the manager once it is gone.
    sandbox.stop();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    return pyrunner::systemd::runDaemon("pyrunnerd", [argc, argv] {
        CLI::App app{"pyrunnerd: runs Python submissions in sandboxed transient systemd units"};
        Settings settings;
        addOptions(app, settings);
        CLI11_PARSE(app, argc, argv);
        return serve(settings);
    });
}
