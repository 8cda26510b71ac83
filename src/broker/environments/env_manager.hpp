#pragma once

#include "broker/sandbox/systemd_sandbox.hpp"
#include "broker/units/env_build_unit.hpp"
#include "common/environment.hpp"
#include "common/environment_requirements.hpp"
#include "common/run_files.hpp"
#include "common/serial_worker.hpp"
#include "config/config.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace pyrunner::systemd
{

struct EnvironmentSettings
{
    std::string python = "/usr/bin/python3";
    // Where environments live (outside the state directory, which runs must not see; runs
    // see it read-only, as all of the system) and how they are built.
    core::EnvironmentConfig config;
};

// The broker's environments: the shipped ones and the venvs in the environments directory,
// each probed in a run unit before runs may choose it, and the builds of new ones. Lives on
// the sandbox's bus thread, as the broker's object does; every callback runs there. Work on
// whole trees (scanning the environments directory, freezing or removing a build's venv)
// runs on a worker thread of its own, whose results come back to the bus thread through the
// sandbox's post(): a build of up to --build-max-mb must not hold up every run's start.
class EnvironmentManager
{
  public:
    using Resolved = std::function<void(std::variant<core::Interpreter, std::string>)>;
    // An error sentence (nothing on success) and the installer's log.
    using Built = std::function<void(std::optional<std::string>, std::string)>;

    // `onChanged` runs when an environment was added. Creates the directory if need be.
    EnvironmentManager(SystemdSandbox& sandbox, const core::RunFiles& files, gid_t readerGid,
                       EnvironmentSettings settings, core::Limits probeLimits,
                       std::function<void()> onChanged);

    // Probes every environment there is; `done` once each is known to work or left out.
    void probeAll(std::function<void()> done);
    std::vector<core::Environment> list() const { return registry_.list(); }

    // The default environment's, known before any probe.
    core::Interpreter defaultInterpreter() const;
    // The interpreter of an environment runs may choose, now; nothing if there is none.
    std::optional<core::Interpreter> interpreterOf(const std::string& name) const;
    // A shipped or operator environment runs may choose now, which warm units may run:
    // nothing for a requirements environment, whose units serve one list of runs.
    std::optional<core::Environment> warmable(const std::string& name) const;
    // The interpreter of the environment of these (normalised) requirements: at once when
    // it is built, else once its build, shared by every caller for the same list, is done.
    void resolveRequirements(const core::NormalisedRequirements& requirements, Resolved done);
    // Builds the operator's environment `name` from a requirements file's text.
    void create(const std::string& name, const std::string& requirementsText,
                const std::string& findLinks, Built done);

  private:
    struct Candidate
    {
        core::Environment environment;
        // The venv directory, for those that are one.
        std::string directory;
    };
    using Probed = std::function<void(std::optional<core::Environment>)>;
    // A build's venv moved into place and frozen (or refused and removed), and its files read.
    struct SettledBuild
    {
        // Why the venv is not there; nothing if it is.
        std::optional<std::string> error;
        std::string log;
        std::string requirements;
        // The environment's directory, where the venv is unless `error` says why not.
        std::string target;
    };

    // Runs `work` on the worker, then `then` with its result on the bus thread.
    template <typename Work, typename Then> void offBus(Work work, Then then);
    std::vector<Candidate> candidatesOnDisk() const;
    void probeEach(std::vector<Candidate> onDisk, std::function<void()> done);
    void probe(core::Environment environment, Probed done);
    void build(const std::string& name, const std::string& requirementsText,
               const std::string& findLinks, Built done);
    void finishBuild(const std::string& name, const std::string& token, bool succeeded, Built done);
    // On the worker.
    SettledBuild settleBuild(const std::string& name, const std::string& token,
                             bool succeeded) const;
    void probeBuilt(const std::string& name, SettledBuild settled, Built done);
    // A built environment whose probe failed: removed on the worker, then `done` says so.
    void removeUnusable(const std::string& target, const std::string& log, const Built& done);
    void requirementsBuilt(const std::string& name, std::optional<std::string> error,
                           const std::string& log);

    SystemdSandbox& sandbox_;
    const core::RunFiles& files_;
    const gid_t readerGid_;
    const EnvironmentSettings settings_;
    const core::Limits probeLimits_;
    const std::function<void()> onChanged_;
    core::EnvironmentRegistry registry_;
    // Requirements environments being built, with who waits for each.
    std::map<std::string, std::vector<Resolved>> building_;
    // Builds per requirements environment since the broker started.
    std::map<std::string, std::uint32_t> builds_;
    // Last: joined, once what was posted to it is done, before the rest goes.
    core::SerialWorker worker_;
};

} // namespace pyrunner::systemd
