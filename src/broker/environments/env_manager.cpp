#include "broker/environments/env_manager.hpp"

#include "broker/environments/env_tree.hpp"
#include "common/run_id.hpp"
#include "daemon/journal.hpp"

#include <filesystem>
#include <memory>
#include <sys/stat.h>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

namespace fs = std::filesystem;

// The largest environment a build may leave, in bytes.
std::uint64_t buildMaxBytes(const core::EnvironmentConfig& config)
{
    constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
    return config.buildMaxMb * bytesPerMb;
}

constexpr std::uint64_t probeReportMaxBytes = 1024ULL * 1024ULL;
constexpr std::uint64_t logMaxBytes = 1024ULL * 1024ULL;
// What of the installer's log a failed run's error carries: its end, where pip says why.
constexpr std::size_t logTailBytes = 3000;
// Written into a requirements environment, so that a later broker knows its list.
constexpr const char* requirementsRecord = "pyrunner-requirements.txt";
constexpr mode_t directoryMode = 0755;

// The end of a log, without its final newlines.
std::string tail(std::string text, std::size_t bytes)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    {
        text.pop_back();
    }
    return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size())
    {
        const auto end = text.find('\n', at);
        auto line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!line.empty())
        {
            out.push_back(std::move(line));
        }
        if (end == std::string::npos)
        {
            break;
        }
        at = end + 1;
    }
    return out;
}

// A directory entry owned by root and not a link: only what the broker made or froze.
bool isRootsDirectory(const fs::path& path)
{
    struct stat info
    {
    };
    return ::lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == 0;
}

} // namespace

EnvironmentManager::EnvironmentManager(SystemdSandbox& sandbox, const core::RunFiles& files,
                                       gid_t readerGid, EnvironmentSettings settings,
                                       core::Limits probeLimits, std::function<void()> onChanged)
    : sandbox_(sandbox), files_(files), readerGid_(readerGid), settings_(std::move(settings)),
      probeLimits_(probeLimits), onChanged_(std::move(onChanged))
{
    fs::create_directories(settings_.config.directory);
    if (!isRootsDirectory(settings_.config.directory) ||
        ::chmod(settings_.config.directory.c_str(), directoryMode) != 0)
    {
        throw std::runtime_error("the environments directory " + settings_.config.directory +
                                 " must be a directory of root's");
    }
}

template <typename Work, typename Then> void EnvironmentManager::offBus(Work work, Then then)
{
    worker_.post([this, work = std::move(work), then = std::move(then)]() mutable {
        sandbox_.post(
            [then = std::move(then), result = work()]() mutable { then(std::move(result)); });
    });
}

std::vector<EnvironmentManager::Candidate> EnvironmentManager::candidatesOnDisk() const
{
    std::vector<Candidate> out;
    std::error_code error;
    // Stepped with an error code: on the worker, nothing may throw.
    for (auto it = fs::directory_iterator(settings_.config.directory, error);
         !error && it != fs::directory_iterator(); it.increment(error))
    {
        const auto& entry = *it;
        const auto name = entry.path().filename().string();
        if (!core::isEnvironmentName(name) || !isRootsDirectory(entry.path()))
        {
            continue;
        }
        const auto requirements = core::isRequirementsEnvironmentName(name);
        auto environment = core::venvEnvironment(name,
                                                 requirements ? core::EnvironmentKind::Requirements
                                                              : core::EnvironmentKind::Operator,
                                                 entry.path().string());
        if (requirements)
        {
            const auto record = readFrozenFile(entry.path() / requirementsRecord, logMaxBytes);
            environment.requirements = lines(record.value_or(""));
        }
        out.push_back(Candidate{std::move(environment), entry.path().string()});
    }
    return out;
}

void EnvironmentManager::probeAll(std::function<void()> done)
{
    // Off the bus thread: the scan reads the record of each requirements environment there.
    offBus([this] { return candidatesOnDisk(); },
           [this, done = std::move(done)](std::vector<Candidate> onDisk) mutable {
        probeEach(std::move(onDisk), std::move(done));
    });
}

void EnvironmentManager::probeEach(std::vector<Candidate> onDisk, std::function<void()> done)
{
    std::vector<core::Environment> candidates = core::shippedEnvironments(settings_.python);
    for (auto& candidate : onDisk)
    {
        candidates.push_back(std::move(candidate.environment));
    }
    auto remaining = std::make_shared<std::size_t>(candidates.size());
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& candidate : candidates)
    {
        probe(std::move(candidate), [this, remaining, finished](auto probed) {
            if (probed)
            {
                registry_.put(std::move(*probed));
            }
            if (--*remaining == 0)
            {
                (*finished)();
            }
        });
    }
}

void EnvironmentManager::probe(core::Environment environment, Probed done)
{
    core::SandboxRun run;
    run.id = core::newRunId();
    run.code = core::environmentProbeCode(environment);
    run.environment = environment.name;
    run.interpreter = environment.interpreter;
    run.limits = probeLimits_;
    try
    {
        run.outputDir = files_.create(run.id, readerGid_);
        files_.writeCode(run.id, run.code);
    }
    catch (const std::exception& e)
    {
        logMessage(LOG_ERR, "pyrunner-broker: cannot probe environment " + environment.name + ": " +
                                e.what());
        done(std::nullopt);
        return;
    }
    core::SandboxCallbacks callbacks;
    callbacks.onExited = [this, id = run.id, environment = std::move(environment),
                          done = std::move(done)](const core::UnitOutcome& outcome) mutable {
        const auto output = files_.read(id, core::RunFiles::stdoutName, probeReportMaxBytes);
        const auto errors = files_.read(id, core::RunFiles::stderrName, logMaxBytes);
        const auto report = outcome.result == "success" && !output.overLimit
                                ? core::parseProbeReport(output.data)
                                : std::nullopt;
        if (!report)
        {
            logMessage(LOG_WARNING, "pyrunner-broker: environment " + environment.name +
                                        " does not work on this host and is left out: " +
                                        tail(errors.data + outcome.error, logTailBytes));
            done(std::nullopt);
            return;
        }
        environment.pythonVersion = report->pythonVersion;
        environment.packages = report->packages;
        done(std::move(environment));
    };
    // Not before: systemd may yet open them for the stop-post helper.
    callbacks.onUnitGone = [this, id = run.id] { files_.remove(id); };
    sandbox_.start(std::move(run), std::move(callbacks));
}

core::Interpreter EnvironmentManager::defaultInterpreter() const
{
    return core::shippedEnvironments(settings_.python).front().interpreter;
}

std::optional<core::Interpreter> EnvironmentManager::interpreterOf(const std::string& name) const
{
    const auto* environment = registry_.find(name);
    return environment ? std::optional(environment->interpreter) : std::nullopt;
}

std::optional<core::Environment> EnvironmentManager::warmable(const std::string& name) const
{
    const auto* environment = registry_.find(name);
    if (environment == nullptr || environment->kind == core::EnvironmentKind::Requirements)
    {
        return std::nullopt;
    }
    return *environment;
}

void EnvironmentManager::resolveRequirements(const core::NormalisedRequirements& requirements,
                                             Resolved done)
{
    const auto name = core::requirementsEnvironmentName(requirements);
    if (const auto interpreter = interpreterOf(name))
    {
        done(*interpreter);
        return;
    }
    if (settings_.config.wheelDir.empty())
    {
        done(std::string("This server installs no requirements: its broker has no wheel "
                         "directory (--wheel-dir)."));
        return;
    }
    auto& waiting = building_[name];
    waiting.push_back(std::move(done));
    if (waiting.size() > 1)
    {
        // Its build is under way; this run waits for it with the others.
        return;
    }
    auto text = core::requirementsFile(requirements);
    build(name, text, settings_.config.wheelDir,
          [this, name](std::optional<std::string> error, const std::string& log) {
        requirementsBuilt(name, std::move(error), log);
    });
}

void EnvironmentManager::requirementsBuilt(const std::string& name,
                                           std::optional<std::string> error, const std::string& log)
{
    auto waiting = std::move(building_[name]);
    building_.erase(name);
    std::variant<core::Interpreter, std::string> result;
    if (error)
    {
        result = "Installing the requirements failed: " + *error +
                 ". The installer said: " + tail(log, logTailBytes);
    }
    else if (const auto interpreter = interpreterOf(name))
    {
        result = *interpreter;
    }
    else
    {
        result = std::string("The requirements' environment was built but does not work.");
    }
    for (const auto& done : waiting)
    {
        done(result);
    }
}

void EnvironmentManager::create(const std::string& name, const std::string& requirementsText,
                                const std::string& findLinks, Built done)
{
    if (!core::isEnvironmentName(name) || core::isRequirementsEnvironmentName(name) ||
        registry_.find(name) != nullptr || fs::exists(fs::path(settings_.config.directory) / name))
    {
        done("The name must be new, and lowercase letters, digits, '-' and '_' (at most 64), "
             "and not of the form req-<hex>.",
             "");
        return;
    }
    const auto& from = findLinks.empty() ? settings_.config.wheelDir : findLinks;
    if (from.empty() || from.front() != '/')
    {
        done(std::string("give --find-links an absolute path (the broker has no --wheel-dir)"), "");
        return;
    }
    build(name, requirementsText, from, std::move(done));
}

void EnvironmentManager::build(const std::string& name, const std::string& requirementsText,
                               const std::string& findLinks, Built done)
{
    EnvironmentBuild build;
    build.token = core::newRunId();
    build.python = settings_.python;
    build.findLinks = findLinks;
    build.timeoutS = settings_.config.buildTimeoutS;
    build.memoryMb = settings_.config.buildMemoryMb;
    build.maxFileBytes = buildMaxBytes(settings_.config);
    try
    {
        build.outputDir = files_.create(build.token, readerGid_);
        files_.writePrivate(build.token, buildRequirementsName, requirementsText);
    }
    catch (const std::exception& e)
    {
        done(std::string("cannot prepare the build: ") + e.what(), "");
        return;
    }
    ++builds_[name];
    logMessage(LOG_INFO, "pyrunner-broker: building environment " + name + " in " +
                             buildUnitName(build.token));
    core::SandboxCallbacks callbacks;
    callbacks.onExited = [this, name, token = build.token,
                          done = std::move(done)](const core::UnitOutcome& outcome) mutable {
        finishBuild(name, token, outcome.result == "success" && outcome.error.empty(),
                    std::move(done));
    };
    sandbox_.runUnit(buildEnvironmentUnit(build, sandbox_.unitSettings()), std::move(callbacks));
}

void EnvironmentManager::finishBuild(const std::string& name, const std::string& token,
                                     bool succeeded, Built done)
{
    // Freezing walks every file of the venv, which takes seconds for a large one.
    offBus([this, name, token, succeeded] { return settleBuild(name, token, succeeded); },
           [this, name, done = std::move(done)](SettledBuild settled) mutable {
        probeBuilt(name, std::move(settled), std::move(done));
    });
}

EnvironmentManager::SettledBuild EnvironmentManager::settleBuild(const std::string& name,
                                                                 const std::string& token,
                                                                 bool succeeded) const
{
    SettledBuild settled;
    settled.log = files_.read(token, buildLogName, logMaxBytes).data;
    settled.requirements = files_.read(token, buildRequirementsName, logMaxBytes).data;
    settled.target = (fs::path(settings_.config.directory) / name).string();
    const auto stateDir = "/var/lib/private/" + buildStateDirectory(token);
    if (!succeeded)
    {
        settled.error = "the installer failed";
    }
    else
    {
        settled.error =
            freezeTree(builtVenvPath(token), settled.target, buildMaxBytes(settings_.config));
    }
    // Once the tree is root's: written into the build's own, it could follow a planted link.
    if (!settled.error && core::isRequirementsEnvironmentName(name) &&
        !addFrozenFile(settled.target + "/" + requirementsRecord, settled.requirements))
    {
        removeTree(settled.target);
        settled.error = "the build left a file where the requirements are recorded";
    }
    removeTree(stateDir);
    std::error_code ignored;
    // The link systemd made to the state directory for the unit.
    fs::remove("/var/lib/" + buildStateDirectory(token), ignored);
    files_.remove(token);
    return settled;
}

void EnvironmentManager::probeBuilt(const std::string& name, SettledBuild settled, Built done)
{
    if (settled.error)
    {
        done(std::move(settled.error), settled.log);
        return;
    }
    auto environment = core::venvEnvironment(name,
                                             core::isRequirementsEnvironmentName(name)
                                                 ? core::EnvironmentKind::Requirements
                                                 : core::EnvironmentKind::Operator,
                                             settled.target);
    environment.requirements = lines(settled.requirements);
    probe(std::move(environment), [this, name, target = settled.target, log = settled.log,
                                   done = std::move(done)](auto probed) {
        if (!probed)
        {
            removeUnusable(target, log, done);
            return;
        }
        probed->builds = builds_[name];
        registry_.put(std::move(*probed));
        if (onChanged_)
        {
            onChanged_();
        }
        done(std::nullopt, log);
    });
}

void EnvironmentManager::removeUnusable(const std::string& target, const std::string& log,
                                        const Built& done)
{
    auto remove = [target] {
        removeTree(target);
        return std::string("the environment was built but its probe failed");
    };
    offBus(std::move(remove), [log, done](std::string error) { done(std::move(error), log); });
}

} // namespace pyrunner::systemd
