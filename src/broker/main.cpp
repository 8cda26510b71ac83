// pyrunner-broker: the privileged half of pyrunner. Owns org.pyrunner.Broker1 on the system
// bus, takes typed runs from the HTTP front's user only, checks them against the operator's
// maxima, and starts each as a sandboxed transient unit. Wiring only.

#include "broker/broker_service.hpp"
#include "broker/sandbox/systemd_sandbox.hpp"
#include "broker/units/unit_properties.hpp"
#include "broker/units/warm_bootstrap.hpp"
#include "common/fd.hpp"
#include "common/run_files.hpp"
#include "common/sandbox_policy.hpp"
#include "config/cli_bound.hpp"
#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/journal.hpp"

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <future>
#include <iostream>
#include <optional>
#include <pwd.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <syslog.h>
#include <system_error>
#include <unistd.h>
#include <variant>

namespace
{

// Exit status for a configuration that cannot be used (sysexits.h's EX_CONFIG); the unit
// does not restart on it (RestartPreventExitStatus=).
constexpr int exitBadConfig = 78;

struct Settings
{
    // The front's file: the broker takes its state directory and limits from it.
    std::string config{pyrunner::core::defaultConfigPath};
    std::optional<std::string> stateDir;
    std::string frontUser = "pyrunner";
    std::string python = "/usr/bin/python3";
    std::string unitStats = PYRUNNER_UNIT_STATS_PATH;
    std::string reaper = PYRUNNER_REAPER_PATH;
    std::string collectFiles = PYRUNNER_COLLECT_FILES_PATH;
    std::string unpackFiles = PYRUNNER_UNPACK_FILES_PATH;
    bool requireAllLayers = false;
    // Each overrides its key in the file's [environments] when given.
    std::optional<std::string> environmentsDir;
    std::optional<std::string> wheelDir;
    std::optional<std::uint32_t> buildTimeoutS;
    std::optional<std::uint32_t> buildMemoryMb;
    std::optional<std::uint64_t> buildMaxMb;
};

void addOptions(CLI::App& app, Settings& s)
{
    app.add_option("--config", s.config,
                   "pyrunnerd's configuration file, for [server] state_dir, [limits] and "
                   "[environments]")
        ->capture_default_str();
    app.add_option("--state-dir", s.stateDir,
                   "where runs' output is kept (overrides the file; /var/lib/pyrunner)");
    app.add_option("--front-user", s.frontUser, "the only user whose calls are served")
        ->capture_default_str();
    app.add_option("--python", s.python, "the interpreter of the shipped environments")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    app.add_option("--unit-stats", s.unitStats, "the units' ExecStopPost helper")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    app.add_option("--reaper", s.reaper, "the units' main process, the interpreter's parent")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    app.add_option("--collect-files", s.collectFiles,
                   "the units' ExecStopPost helper that collects what a run leaves in out/")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    app.add_option("--unpack-files", s.unpackFiles,
                   "the units' ExecStartPre helper that unpacks the files a run brings")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    namespace bounds = pyrunner::core::bounds;
    using pyrunner::core::cliRange;
    app.add_option("--environments-dir", s.environmentsDir,
                   "where built environments are kept, outside the state directory "
                   "(/var/lib/pyrunner-environments)");
    app.add_option("--wheel-dir", s.wheelDir,
                   "the packages runs' requirements are installed from (none: runs may not "
                   "list requirements)");
    app.add_option("--build-timeout-s", s.buildTimeoutS,
                   "how long an environment's build may take (600)")
        ->check(cliRange(bounds::buildTimeoutS));
    app.add_option("--build-memory-mb", s.buildMemoryMb,
                   "memory an environment's build may use (2048)")
        ->check(cliRange(bounds::buildMemoryMb));
    app.add_option("--build-max-mb", s.buildMaxMb,
                   "the largest environment a build may leave (2048)")
        ->check(cliRange(bounds::buildMaxMb));
    app.add_flag("--require-all-layers", s.requireAllLayers,
                 "refuse to start when the host does not enforce every sandboxing layer");
}

// Logs what the probe found; false when the operator requires every layer and one is missing.
bool acceptLayers(const pyrunner::systemd::LayerReport& report, bool requireAll)
{
    const auto missing = pyrunner::systemd::missingLayers(report);
    if (missing.empty())
    {
        pyrunner::systemd::logMessage(LOG_INFO, "pyrunner-broker: every sandboxing layer holds");
        return true;
    }
    std::string list;
    for (const auto& layer : missing)
    {
        list += (list.empty() ? "" : ", ") + layer;
    }
    pyrunner::systemd::logMessage(requireAll ? LOG_CRIT : LOG_WARNING,
                                  "pyrunner-broker: this host does not enforce: " + list);
    return !requireAll;
}

// Rewritten at every start, so that units always get this build's: the warm units' bootstrap,
// the runs' nsswitch.conf. Root's, in the root-owned state directory: no one else can replace
// it or plant a link. Mode 0604: units bind it in and read it as their dynamic users, to whom
// it is an "other"'s file.
std::string writeUnitFile(const std::string& stateDir, const char* name, std::string_view text)
{
    auto path = stateDir + "/" + name;
    constexpr mode_t mode = 0604;
    const pyrunner::core::UniqueFd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd || ::fchmod(fd.get(), mode) != 0 ||
        ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    {
        throw std::system_error(errno, std::generic_category(), "cannot write " + path);
    }
    return path;
}

int serve(const Settings& s, const pyrunner::core::Config& config)
{
    using namespace pyrunner;
    const auto stateDir = s.stateDir.value_or(config.server.stateDir);
    const passwd* front = ::getpwnam(s.frontUser.c_str());
    if (front == nullptr)
    {
        std::cerr << "pyrunner-broker: no user \"" << s.frontUser << "\"\n";
        return 2;
    }
    // Before any thread starts, so that every thread inherits the mask.
    const systemd::StopSignals stopSignals;

    core::RunFiles::createLayout(stateDir, front->pw_uid, front->pw_gid);
    const core::RunFiles files(stateDir);
    systemd::UnitSettings unitSettings;
    unitSettings.unitStatsHelper = s.unitStats;
    unitSettings.reaper = s.reaper;
    unitSettings.collectFilesHelper = s.collectFiles;
    unitSettings.unpackFilesHelper = s.unpackFiles;
    unitSettings.stateDir = stateDir;
    // The file's settings with the flags over them.
    systemd::EnvironmentSettings environmentSettings{s.python, config.environments};
    auto& effective = environmentSettings.config;
    effective.directory = s.environmentsDir.value_or(effective.directory);
    effective.wheelDir = s.wheelDir.value_or(effective.wheelDir);
    effective.buildTimeoutS = s.buildTimeoutS.value_or(effective.buildTimeoutS);
    effective.buildMemoryMb = s.buildMemoryMb.value_or(effective.buildMemoryMb);
    effective.buildMaxMb = s.buildMaxMb.value_or(effective.buildMaxMb);
    unitSettings.environmentsDir = effective.directory;
    unitSettings.warmBootstrap =
        writeUnitFile(stateDir, "warm-bootstrap.py", systemd::warmBootstrapCode());
    unitSettings.nsswitch = writeUnitFile(stateDir, "nsswitch.conf", systemd::runNsswitchConf());
    // A warm unit that dies before its handover must not take the broker with it.
    ::signal(SIGPIPE, SIG_IGN);
    // Without the bus the broker is of no use: exit and let systemd restart it.
    systemd::SystemdSandbox sandbox(unitSettings, [] { ::kill(::getpid(), SIGTERM); });
    systemd::BrokerSettings brokerSettings;
    brokerSettings.frontUid = front->pw_uid;
    brokerSettings.frontGid = front->pw_gid;
    brokerSettings.policy.limits = config.limits;
    systemd::BrokerService* announcer = nullptr;
    systemd::EnvironmentManager environments(sandbox, files, front->pw_gid, environmentSettings,
                                             brokerSettings.policy.limits.defaults, [&announcer] {
                                                 if (announcer != nullptr)
                                                 {
                                                     announcer->emitEnvironmentsChanged();
                                                 }
                                             });
    systemd::BrokerService service(sandbox, files, environments, brokerSettings);
    announcer = &service;
    std::promise<systemd::LayerReport> probed;
    service.probeLayers([&probed](const systemd::LayerReport& r) { probed.set_value(r); });
    sandbox.start();
    sandbox.capSliceCpu(pyrunner::core::hostCpus());
    if (!acceptLayers(probed.get_future().get(), s.requireAllLayers))
    {
        sandbox.stop();
        return 1;
    }
    sd_notify(0, "READY=1\nSTATUS=Serving org.pyrunner.Broker1");
    systemd::logMessage(LOG_INFO, "pyrunner-broker serving runs for user " + s.frontUser);

    // Under WatchdogSec=, the ping goes through the bus thread, where every call to systemd
    // and every request of the front is handled: a broker stuck there is restarted.
    const systemd::Watchdog watchdog;
    if (const auto period = watchdog.period())
    {
        while (!stopSignals.waitFor(*period))
        {
            sandbox.post([] { systemd::Watchdog::ping(); });
        }
    }
    else
    {
        stopSignals.wait();
    }
    sd_notify(0, "STOPPING=1");
    const bool lost = !sandbox.reachable();
    sandbox.stop();
    return lost ? 1 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    return pyrunner::systemd::runDaemon("pyrunner-broker", [argc, argv] {
        CLI::App app{"pyrunner-broker: starts pyrunner's sandboxed run units"};
        Settings settings;
        addOptions(app, settings);
        CLI11_PARSE(app, argc, argv);
        auto config =
            pyrunner::core::loadConfig(settings.config, app.get_option("--config")->count() > 0,
                                       pyrunner::core::ConfigRules{});
        if (const auto* error = std::get_if<pyrunner::core::ConfigError>(&config))
        {
            std::cerr << "pyrunner-broker: " << error->message << "\n";
            pyrunner::systemd::logMessage(LOG_CRIT, "pyrunner-broker: " + error->message);
            return exitBadConfig;
        }
        return serve(settings, std::get<pyrunner::core::Config>(config));
    });
}
