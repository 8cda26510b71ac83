#pragma once

#include "common/environment.hpp"
#include "common/fd.hpp"
#include "front/store/run.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pyrunner::core
{

enum class Stream
{
    Stdout,
    Stderr,
};

// A run as the API shows it: its state and, once it has any, its output.
struct RunView
{
    Run run;
    RunOutput output;
};

// A run as it stands, without its output, and whether it is over: its final status stored and
// its output complete.
struct RunSnapshot
{
    Run run;
    bool over = false;
};

struct Health
{
    bool systemdReachable = false;
    std::size_t running = 0;
    std::size_t queued = 0;
    std::size_t maxRunning = 0;
    std::size_t maxQueued = 0;
    // Each sandboxing layer and whether this host enforces it, as probed at start-up.
    std::map<std::string, bool> layers;
    // Warm units waiting for a run, by environment: up and ready, or still starting. Every
    // environment given a pool is there, also with none.
    struct WarmUnits
    {
        std::size_t ready = 0;
        std::size_t starting = 0;

        bool operator==(const WarmUnits&) const = default;
    };
    std::map<std::string, WarmUnits> warm;
    // Runs running and queued by tenant; every tenant with either.
    struct TenantRuns
    {
        std::size_t running = 0;
        std::size_t queued = 0;

        bool operator==(const TenantRuns&) const = default;
    };
    std::map<std::string, TenantRuns> tenants;
};

enum class SubmitError
{
    QueueFull,
    // The submitting tenant has as many runs queued as its share allows.
    TenantQueueFull,
    Unavailable,
};

struct Submitted
{
    RunView view;
};

// Called once, from any thread, when the run reaches a final status.
using Completion = std::function<void(const RunView&)>;

// What the HTTP layer may ask of the run lifecycle. Implementations are thread-safe.
class RunService
{
  public:
    RunService() = default;
    RunService(const RunService&) = delete;
    RunService& operator=(const RunService&) = delete;
    RunService(RunService&&) = delete;
    RunService& operator=(RunService&&) = delete;
    virtual ~RunService() = default;

    // Accepts the run or says why not. `onFinal`, if set, is called when the run ends
    // (also when it was already over by the time submit returns).
    virtual std::variant<Submitted, SubmitError> submit(RunRequest request, Completion onFinal) = 0;
    virtual std::optional<RunView> find(const std::string& id) const = 0;
    // The tenant a run belongs to, or nothing for an id no run has. Always asks the store, so
    // that it costs the same for any id: a caller refused another tenant's run learns no more
    // from the time taken than from the answer.
    virtual std::optional<std::string> ownerOf(const std::string& id) const = 0;
    virtual std::optional<std::string> output(const std::string& id, Stream stream) const = 0;
    // Nothing for an unknown id. Reads no output, so it costs the same for any run.
    virtual std::optional<RunSnapshot> snapshot(const std::string& id) const = 0;
    // The run's stdout or stderr file, for reading as it grows; invalid while it has none (a
    // queued run) or once it is gone.
    virtual UniqueFd openOutput(const std::string& id, Stream stream) const = 0;
    virtual std::optional<RunView> cancel(const std::string& id) = 0;
    // The bytes of the collector's copy `index` of a finished run's file; nothing if the run or
    // the copy is gone.
    virtual std::optional<std::string> collectedFile(const std::string& id,
                                                     std::uint32_t index) const = 0;
    virtual Health health() const = 0;
    // The environments a request may choose.
    virtual std::vector<Environment> environments() const = 0;
    // Seconds a client should wait before retrying when the queue is full.
    virtual unsigned retryAfterSeconds() const = 0;
};

} // namespace pyrunner::core
