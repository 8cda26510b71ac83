#include "systemd/broker_service.hpp"

#include "core/run_id.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <exception>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr const char* invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* accessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* failed = "org.freedesktop.DBus.Error.Failed";

std::string textOf(const std::vector<std::uint8_t>& bytes)
{
    return {bytes.begin(), bytes.end()};
}

void requireRunId(const std::string& id)
{
    if (!core::isRunId(id))
    {
        throw sdbus::Error(invalidArgs, "The run id must be 32 lowercase hex digits.");
    }
}

} // namespace

BrokerService::BrokerService(SystemdSandbox& sandbox, const core::RunFiles& files,
                             const BrokerSettings& settings)
    : sandbox_(sandbox), files_(files), settings_(settings),
      object_(sdbus::createObject(sandbox.connection(), broker::objectPath))
{
    const auto* iface = broker::interfaceName;
    object_->registerMethod("StartRun")
        .onInterface(iface)
        .withInputParamNames("id", "code", "stdin", "args", "limits")
        .implementedAs(
            [this](const std::string& id, const std::vector<std::uint8_t>& code,
                   const std::vector<std::uint8_t>& stdinData, const std::vector<std::string>& args,
                   const broker::WireLimits& limits) {
        startRun(id, code, stdinData, args, limits);
        });
    object_->registerMethod("KillRun").onInterface(iface).withInputParamNames("id").implementedAs(
        [this](const std::string& id) { killRun(id); });
    object_->registerMethod("ReleaseRun")
        .onInterface(iface)
        .withInputParamNames("id")
        .implementedAs([this](const std::string& id) { releaseRun(id); });
    object_->registerMethod("Layers")
        .onInterface(iface)
        .withOutputParamNames("layers")
        .implementedAs([this] {
            requireFront();
            return layers_;
        });
    object_->registerSignal("RunStarted").onInterface(iface).withParameters<std::string>("id");
    object_->registerSignal("RunExited")
        .onInterface(iface)
        .withParameters<std::string, broker::WireOutcome>("id", "outcome");
    object_->finishRegistration();
    sandbox.connection().requestName(broker::serviceName);
}

BrokerService::~BrokerService() = default;

void BrokerService::requireFront() const
{
    const auto* message = object_->getCurrentlyProcessedMessage();
    if (message == nullptr || message->getCredsUid() != settings_.frontUid)
    {
        throw sdbus::Error(accessDenied, "Only pyrunner's HTTP front may ask for runs.");
    }
}

void BrokerService::startRun(const std::string& id, const std::vector<std::uint8_t>& code,
                             const std::vector<std::uint8_t>& stdinData,
                             const std::vector<std::string>& args, const broker::WireLimits& limits)
{
    requireFront();
    core::SandboxRun run;
    run.id = id;
    run.code = textOf(code);
    run.stdinData = textOf(stdinData);
    run.args = args;
    run.limits = broker::fromWire(limits);
    if (auto problem = core::checkSandboxRun(run, settings_.policy))
    {
        throw sdbus::Error(invalidArgs, *problem);
    }
    try
    {
        // Fails if the id was used before: a run's directory is never reused.
        run.outputDir = files_.create(id, settings_.frontGid);
        files_.writePrivate(id, core::RunFiles::codeName, run.code);
        files_.writePrivate(id, core::RunFiles::stdinName, run.stdinData);
    }
    catch (const std::exception& e)
    {
        throw sdbus::Error(failed, std::string("Cannot prepare the run: ") + e.what() + ".");
    }
    active_.insert(id);
    core::SandboxCallbacks callbacks;
    callbacks.onStarted = [this, id] {
        object_->emitSignal("RunStarted").onInterface(broker::interfaceName).withArguments(id);
    };
    callbacks.onExited = [this, id](const core::UnitOutcome& outcome) {
        active_.erase(id);
        object_->emitSignal("RunExited")
            .onInterface(broker::interfaceName)
            .withArguments(id, broker::toWire(outcome));
    };
    sandbox_.start(std::move(run), std::move(callbacks));
}

void BrokerService::probeLayers(std::function<void(const LayerReport&)> done)
{
    core::SandboxRun probe;
    probe.id = core::newRunId();
    probe.code = std::string(layerProbeCode());
    probe.limits = settings_.policy.limits.defaults;
    probe.outputDir = files_.create(probe.id, settings_.frontGid);
    files_.writePrivate(probe.id, core::RunFiles::codeName, probe.code);
    core::SandboxCallbacks callbacks;
    callbacks.onExited = [this, id = probe.id, limits = probe.limits,
                          done = std::move(done)](const core::UnitOutcome&) {
        constexpr std::uint64_t reportMaxBytes = 4096;
        layers_ = layerReport(files_.read(id, core::RunFiles::stdoutName, reportMaxBytes).data,
                              files_.cgroupStats(id), limits);
        files_.remove(id);
        done(layers_);
    };
    sandbox_.start(std::move(probe), std::move(callbacks));
}

void BrokerService::killRun(const std::string& id)
{
    requireFront();
    requireRunId(id);
    if (active_.contains(id))
    {
        sandbox_.kill(id);
    }
}

void BrokerService::releaseRun(const std::string& id)
{
    requireFront();
    requireRunId(id);
    if (active_.contains(id))
    {
        throw sdbus::Error(invalidArgs,
                           "The run is still going on; it can be released once it ends.");
    }
    files_.remove(id);
}

} // namespace pyrunner::systemd
