#include "front/http/blocking_waits.hpp"

#include "front/http/api.hpp"

#include <utility>
#include <vector>

namespace pyrunner::http
{

Response stoppingWhileWaiting(const std::string& runId)
{
    if (runId.empty())
    {
        return errorResponse(503, "The server is stopping; submit the run again shortly.");
    }
    auto response = errorResponse(503, "The server is stopping; the run goes on: GET /runs/" +
                                           runId + " for its result.");
    response.headers.emplace_back("Location", "/runs/" + runId);
    return response;
}

std::optional<BlockingWaits::Token> BlockingWaits::add(Reply reply)
{
    const std::lock_guard lock(mutex_);
    if (stopped_)
    {
        return std::nullopt;
    }
    const auto token = next_++;
    waits_.emplace(token, Wait{std::move(reply), {}});
    return token;
}

void BlockingWaits::bind(Token token, const std::string& runId)
{
    std::optional<Reply> cutOff;
    {
        const std::lock_guard lock(mutex_);
        const auto it = waits_.find(token);
        if (it == waits_.end())
        {
            return;
        }
        if (!stopped_)
        {
            it->second.runId = runId;
            return;
        }
        // stop() came between the submission and this: answer now that the run has an id.
        cutOff = std::move(it->second.reply);
        waits_.erase(it);
    }
    (*cutOff)(stoppingWhileWaiting(runId));
    bound_.notify_all();
}

std::optional<Reply> BlockingWaits::take(Token token)
{
    std::optional<Reply> reply;
    {
        const std::lock_guard lock(mutex_);
        auto node = waits_.extract(token);
        if (!node)
        {
            return std::nullopt;
        }
        reply = std::move(node.mapped().reply);
    }
    bound_.notify_all();
    return reply;
}

void BlockingWaits::stop(std::chrono::milliseconds grace)
{
    std::vector<Wait> open;
    {
        const std::lock_guard lock(mutex_);
        stopped_ = true;
        for (auto it = waits_.begin(); it != waits_.end();)
        {
            // A wait whose run has no id yet is answered by bind().
            if (it->second.runId.empty())
            {
                ++it;
                continue;
            }
            open.push_back(std::move(it->second));
            it = waits_.erase(it);
        }
    }
    // Outside the lock: a reply may block on the connection's own lock.
    for (auto& wait : open)
    {
        wait.reply(stoppingWhileWaiting(wait.runId));
    }
    // The submissions still in progress answer from bind(); they take moments.
    std::unique_lock lock(mutex_);
    bound_.wait_for(lock, grace, [this] { return waits_.empty(); });
}

} // namespace pyrunner::http
