#pragma once

#include "common/sandbox.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::systemd
{

// What a failed call's error name says about the broker.
enum class CallFailure
{
    // No broker owns the name: the call is worth repeating when one takes it.
    brokerAbsent,
    // No answer in time, or the broker left without one: it may yet do, or have done, what
    // was asked, so only asking it again tells.
    noAnswer,
    // The broker answered, refusing.
    refused,
};
CallFailure callFailure(std::string_view errorName);

// The runs the front follows through the broker, and what the broker's comings and goings
// call for: which starts to send again, which warm units to report ended, which kills and
// releases to send, which runs to follow again. Pure: BrokerClient does on the bus what it
// says. Touched on the bus thread only.
class FollowedRuns
{
  public:
    enum class Request
    {
        kill,
        release,
    };

    struct Deferred
    {
        Request request = Request::kill;
        std::string runId;

        bool operator==(const Deferred&) const = default;
    };

    // What to do when a broker takes the name, in this order.
    struct Arrival
    {
        // Kills and releases asked for while no broker was there.
        std::vector<Deferred> resend;
        // Warm units not yet given a run: a new broker cannot hand them one (they end with
        // the broker that started them), so they are to be reported ended.
        std::vector<std::string> warmGone;
        // Every other run, to be followed again from the new broker.
        std::vector<std::string> follow;
    };

    // What the broker's answer to FollowRun means for the run.
    enum class AfterFollow
    {
        // The broker follows it, or has reported its end.
        nothing,
        // The broker never got the run's start: it is sent again.
        sendStartAgain,
        // No unit and no record of one, and no start of this front's to send again.
        vanished,
    };

    // A run to start: followed, and its start kept until the broker answers it, to send again
    // if the broker goes first. A warm unit prepared for it is given this run.
    void start(const core::SandboxRun& run, core::SandboxCallbacks callbacks);
    // The broker answered the run's start, taking it or refusing it.
    void startAnswered(const std::string& runId);
    // The start of a run the broker has not answered; only where afterFollow says to send it
    // again.
    core::SandboxRun unansweredStart(const std::string& runId) const;
    // A warm unit asked for: followed as a run until it is given one.
    void prepare(const std::string& runId, core::SandboxCallbacks callbacks);
    // A run an earlier front or broker started.
    void follow(const std::string& runId, core::SandboxCallbacks callbacks);
    AfterFollow afterFollow(const std::string& runId, std::string_view state) const;
    // A kill or release that found no broker: sent when one arrives.
    void defer(Request request, const std::string& runId);

    using Clock = std::chrono::steady_clock;
    // The run's end should have been heard of by `by`. An end that never comes (a signal lost,
    // a broker that forgot the run) would otherwise leave it running for ever: past `by`, the
    // broker is asked about it.
    void expectEnd(const std::string& runId, Clock::time_point by);
    // The runs whose end was due by `now`, no longer expected: to ask the broker about.
    std::vector<std::string> overdue(Clock::time_point now);
    // The earliest end expected, if any.
    std::optional<Clock::time_point> nextDue() const;

    // A broker took the name; the deferred requests and idle warm units are handed over.
    Arrival brokerArrived();

    // The callbacks of a run followed, or nothing.
    const core::SandboxCallbacks* find(const std::string& runId) const;
    // The run has ended: its callbacks, to tell so once, and it is no longer followed.
    std::optional<core::SandboxCallbacks> end(const std::string& runId);
    // The front's own connection dropped: nothing can be followed any more. The runs go on
    // under systemd, and whoever follows them next needs them unfinished in the store, so
    // none is ended.
    void forgetAll();
    std::size_t size() const { return runs_.size(); }

  private:
    std::map<std::string, core::SandboxCallbacks> runs_;
    // Starts the broker has not answered, kept to send again if it went away first.
    std::map<std::string, core::SandboxRun> unanswered_;
    // Warm units prepared and not yet given a run.
    std::set<std::string> idle_;
    std::vector<Deferred> deferred_;
    std::map<std::string, Clock::time_point> due_;
};

} // namespace pyrunner::systemd
