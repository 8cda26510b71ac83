#include "front/broker_link/followed_runs.hpp"

#include <utility>

namespace pyrunner::systemd
{

CallFailure callFailure(std::string_view errorName)
{
    if (errorName == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        errorName == "org.freedesktop.DBus.Error.NameHasNoOwner")
    {
        return CallFailure::brokerAbsent;
    }
    // NoReply is also what the bus says when the broker leaves during the call: the broker's
    // name then changes owner, and the run is followed again when a broker takes it.
    if (errorName == "org.freedesktop.DBus.Error.NoReply" ||
        errorName == "org.freedesktop.DBus.Error.Timeout")
    {
        return CallFailure::noAnswer;
    }
    return CallFailure::refused;
}

void FollowedRuns::start(const core::SandboxRun& run, core::SandboxCallbacks callbacks)
{
    idle_.erase(run.id);
    runs_[run.id] = std::move(callbacks);
    unanswered_[run.id] = run;
}

void FollowedRuns::startAnswered(const std::string& runId)
{
    unanswered_.erase(runId);
}

core::SandboxRun FollowedRuns::unansweredStart(const std::string& runId) const
{
    return unanswered_.at(runId);
}

void FollowedRuns::prepare(const std::string& runId, core::SandboxCallbacks callbacks)
{
    runs_[runId] = std::move(callbacks);
    idle_.insert(runId);
}

void FollowedRuns::follow(const std::string& runId, core::SandboxCallbacks callbacks)
{
    runs_[runId] = std::move(callbacks);
}

FollowedRuns::AfterFollow FollowedRuns::afterFollow(const std::string& runId,
                                                    std::string_view state) const
{
    if (state != "unknown")
    {
        // RunStarted and RunExited follow as for a run started now.
        return AfterFollow::nothing;
    }
    return unanswered_.contains(runId) ? AfterFollow::sendStartAgain : AfterFollow::vanished;
}

void FollowedRuns::defer(Request request, const std::string& runId)
{
    deferred_.push_back(Deferred{request, runId});
}

void FollowedRuns::expectEnd(const std::string& runId, Clock::time_point by)
{
    if (runs_.contains(runId))
    {
        due_.insert_or_assign(runId, by);
    }
}

std::vector<std::string> FollowedRuns::overdue(Clock::time_point now)
{
    std::vector<std::string> ids;
    for (auto it = due_.begin(); it != due_.end();)
    {
        if (it->second <= now)
        {
            ids.push_back(it->first);
            it = due_.erase(it);
        }
        else
        {
            ++it;
        }
    }
    return ids;
}

std::optional<FollowedRuns::Clock::time_point> FollowedRuns::nextDue() const
{
    std::optional<Clock::time_point> next;
    for (const auto& [id, by] : due_)
    {
        if (!next || by < *next)
        {
            next = by;
        }
    }
    return next;
}

FollowedRuns::Arrival FollowedRuns::brokerArrived()
{
    Arrival arrival;
    arrival.resend = std::exchange(deferred_, {});
    for (const auto& [id, callbacks] : runs_)
    {
        (idle_.contains(id) ? arrival.warmGone : arrival.follow).push_back(id);
    }
    return arrival;
}

const core::SandboxCallbacks* FollowedRuns::find(const std::string& runId) const
{
    const auto it = runs_.find(runId);
    return it != runs_.end() ? &it->second : nullptr;
}

std::optional<core::SandboxCallbacks> FollowedRuns::end(const std::string& runId)
{
    unanswered_.erase(runId);
    idle_.erase(runId);
    due_.erase(runId);
    auto node = runs_.extract(runId);
    if (!node)
    {
        return std::nullopt;
    }
    return std::move(node.mapped());
}

void FollowedRuns::forgetAll()
{
    runs_.clear();
    unanswered_.clear();
    idle_.clear();
    due_.clear();
}

} // namespace pyrunner::systemd
