#pragma once

#include "front/runs/run_service.hpp"
#include "front/store/run.hpp"

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace pyrunner::core
{

// What the run lifecycle tells operators about: every step of every run and every failure
// on the server's side. The journal and the metrics implement it; the lifecycle knows
// neither. `client` is the submitter's address, empty when unknown (a run taken over from
// an earlier server). Called from any thread, never under the lifecycle's lock.
class RunEvents
{
  public:
    RunEvents() = default;
    RunEvents(const RunEvents&) = delete;
    RunEvents& operator=(const RunEvents&) = delete;
    RunEvents(RunEvents&&) = delete;
    RunEvents& operator=(RunEvents&&) = delete;
    virtual ~RunEvents() = default;

    // In the store, about to be acknowledged.
    virtual void accepted(const Run& /*run*/, std::string_view /*client*/) {}
    // Not accepted: the queue (or the tenant's share of it) is full or systemd is out of reach.
    virtual void refused(SubmitError /*reason*/, std::string_view /*client*/,
                         std::string_view /*tenant*/)
    {
    }
    // Its unit's main process runs.
    virtual void started(const Run& /*run*/, std::string_view /*client*/) {}
    // It reached its final status (cancelled included).
    virtual void finished(const Run& /*run*/, std::string_view /*client*/) {}
    // Something failed that is the server's fault, not a run's; `runId` is empty when no
    // single run is concerned.
    virtual void failed(std::string_view /*runId*/, std::string_view /*message*/) {}
};

// Hands every event to each of several listeners, in order.
class RunEventsFanOut final : public RunEvents
{
  public:
    explicit RunEventsFanOut(std::vector<std::reference_wrapper<RunEvents>> listeners)
        : listeners_(std::move(listeners))
    {
    }

    void accepted(const Run& run, std::string_view client) override
    {
        for (auto& each : listeners_)
        {
            each.get().accepted(run, client);
        }
    }
    void refused(SubmitError reason, std::string_view client, std::string_view tenant) override
    {
        for (auto& each : listeners_)
        {
            each.get().refused(reason, client, tenant);
        }
    }
    void started(const Run& run, std::string_view client) override
    {
        for (auto& each : listeners_)
        {
            each.get().started(run, client);
        }
    }
    void finished(const Run& run, std::string_view client) override
    {
        for (auto& each : listeners_)
        {
            each.get().finished(run, client);
        }
    }
    void failed(std::string_view runId, std::string_view message) override
    {
        for (auto& each : listeners_)
        {
            each.get().failed(runId, message);
        }
    }

  private:
    std::vector<std::reference_wrapper<RunEvents>> listeners_;
};

// Calls a function for each run that reaches its final status.
class OnFinished final : public RunEvents
{
  public:
    explicit OnFinished(std::function<void(const Run&)> call) : call_(std::move(call)) {}

    void finished(const Run& run, std::string_view /*client*/) override { call_(run); }

  private:
    std::function<void(const Run&)> call_;
};

} // namespace pyrunner::core
