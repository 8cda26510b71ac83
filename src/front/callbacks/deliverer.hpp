#pragma once

#include "front/callbacks/callback_client.hpp"
#include "front/callbacks/retry_schedule.hpp"
#include "front/store/run_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace pyrunner::core
{

// What one attempt came to.
struct DeliveryReport
{
    DueCallback callback;
    // Delivered, Failed (given up), or Pending: retried after retryIn.
    CallbackState state = CallbackState::Pending;
    // Attempts made, this one included.
    unsigned attempts = 0;
    PostOutcome outcome;
    std::optional<std::chrono::seconds> retryIn;
};

// Posts finished runs to their callback URLs from a thread of its own, never from the HTTP or
// bus threads: the store says which are due (RunStore::finish made them pending with the run's
// final status), so what a restart finds pending is simply taken up again. The thread sleeps
// on a condition variable until the next one is due or poke() says a run has ended. One POST
// at a time, each bounded by the client's timeouts.
class CallbackDeliverer
{
  public:
    // The Run object's JSON, as GET /runs/{id} answers it; nothing once the run is gone.
    using BodyOf = std::function<std::optional<std::string>(const std::string& runId)>;
    // The key that signs a tenant's callbacks; nothing when the tenant has none.
    using KeyOf = std::function<std::optional<std::string>(const std::string& tenant)>;
    using Post = std::function<PostOutcome(const CallbackRequest&, const std::atomic<bool>&)>;
    using Report = std::function<void(const DeliveryReport&)>;

    CallbackDeliverer(RunStore& store, BodyOf bodyOf, KeyOf keyOf, Post post, Report report,
                      RetryPolicy policy = {});
    CallbackDeliverer(const CallbackDeliverer&) = delete;
    CallbackDeliverer& operator=(const CallbackDeliverer&) = delete;
    CallbackDeliverer(CallbackDeliverer&&) = delete;
    CallbackDeliverer& operator=(CallbackDeliverer&&) = delete;
    // Stops: a POST under way is cut short and counts for nothing; it is made again at the
    // next start.
    ~CallbackDeliverer();

    // Starts the thread, which first takes up what the store holds pending.
    void start();
    // A run with a callback has ended: look again now. From any thread.
    void poke();

  private:
    void loop();
    // Attempts every callback due now; false when stopping cut it short.
    bool deliverDue();
    void attempt(const DueCallback& callback);
    void record(const DueCallback& callback, CallbackState state, unsigned attempts,
                PostOutcome outcome, std::optional<std::chrono::seconds> retryIn);

    RunStore& store_;
    const BodyOf bodyOf_;
    const KeyOf keyOf_;
    const Post post_;
    const Report report_;
    const RetryPolicy policy_;

    std::mutex mutex_;
    std::condition_variable wake_;
    bool poked_ = false;
    std::atomic<bool> stopping_{false};
    // Last: joined before the rest goes.
    std::thread thread_;
};

} // namespace pyrunner::core
