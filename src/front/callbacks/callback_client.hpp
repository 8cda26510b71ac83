#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace pyrunner::core
{

// One POST of a finished run to its callback_url.
struct CallbackRequest
{
    std::string url;
    // The Run object's JSON.
    std::string body;
    // X-Pyrunner-Signature's value.
    std::string signature;
    std::string runId;
};

// What came of a POST: the receiver's status, or none (0) with the reason it got no answer.
struct PostOutcome
{
    long status = 0;
    std::string error = {};

    bool delivered() const
    {
        constexpr long firstSuccess = 200;
        constexpr long pastSuccess = 300;
        return status >= firstSuccess && status < pastSuccess;
    }
};

// libcurl's easy interface, for one thread: connections to a receiver are kept for the next
// POST. Each POST is bounded in time (connectTimeout, totalTimeout), follows no redirect
// (a receiver could point it anywhere the allowed prefixes do not cover), speaks http and
// https alone, uses no proxy (the environment's proxy variables included), sends the path
// as given, and reads no more of the answer than its status.
class CallbackClient
{
  public:
    static constexpr long connectTimeoutMs = 5000;
    static constexpr long totalTimeoutMs = 15000;

    CallbackClient();
    CallbackClient(const CallbackClient&) = delete;
    CallbackClient& operator=(const CallbackClient&) = delete;
    CallbackClient(CallbackClient&&) = delete;
    CallbackClient& operator=(CallbackClient&&) = delete;
    ~CallbackClient();

    // Gives up early, with no status, once `stopping` is set.
    PostOutcome post(const CallbackRequest& request, const std::atomic<bool>& stopping);

  private:
    struct Handle;
    std::unique_ptr<Handle> handle_;
};

} // namespace pyrunner::core
