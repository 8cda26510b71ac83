#include "front/callbacks/deliverer.hpp"

#include "front/callbacks/signature.hpp"

#include <exception>

namespace pyrunner::core
{
namespace
{

// Callbacks taken from the store at once; more are taken when these are done.
constexpr std::size_t batch = 16;
// A store that failed is tried again after this, rather than at once in a loop.
constexpr std::chrono::seconds afterStoreFault{5};

} // namespace

CallbackDeliverer::CallbackDeliverer(RunStore& store, BodyOf bodyOf, KeyOf keyOf, Post post,
                                     Report report, RetryPolicy policy)
    : store_(store), bodyOf_(std::move(bodyOf)), keyOf_(std::move(keyOf)), post_(std::move(post)),
      report_(std::move(report)), policy_(policy)
{
}

CallbackDeliverer::~CallbackDeliverer()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
    {
        thread_.join();
    }
}

void CallbackDeliverer::start()
{
    thread_ = std::thread([this] { loop(); });
}

void CallbackDeliverer::poke()
{
    {
        const std::lock_guard lock(mutex_);
        poked_ = true;
    }
    wake_.notify_all();
}

void CallbackDeliverer::loop()
{
    for (;;)
    {
        std::optional<TimePoint> next;
        try
        {
            if (!deliverDue())
            {
                return;
            }
            next = store_.nextCallbackDue();
        }
        catch (const std::exception& error)
        {
            report_(
                DeliveryReport{{}, CallbackState::Pending, 0, {0, error.what()}, afterStoreFault});
            next = Clock::now() + afterStoreFault;
        }
        std::unique_lock lock(mutex_);
        const auto woken = [this] { return poked_ || stopping_; };
        if (next)
        {
            wake_.wait_until(lock, *next, woken);
        }
        else
        {
            wake_.wait(lock, woken);
        }
        if (stopping_)
        {
            return;
        }
        poked_ = false;
    }
}

bool CallbackDeliverer::deliverDue()
{
    for (;;)
    {
        const auto due = store_.dueCallbacks(Clock::now(), batch);
        for (const auto& callback : due)
        {
            if (stopping_)
            {
                return false;
            }
            attempt(callback);
        }
        if (due.size() < batch)
        {
            return !stopping_;
        }
    }
}

void CallbackDeliverer::attempt(const DueCallback& callback)
{
    const auto body = bodyOf_(callback.runId);
    if (!body)
    {
        record(callback, CallbackState::Failed, callback.attempts,
               {0, "the run is no longer stored"}, std::nullopt);
        return;
    }
    const auto key = keyOf_(callback.tenant);
    if (!key)
    {
        record(callback, CallbackState::Failed, callback.attempts,
               {0, "tenant " + callback.tenant + " has no callback key"}, std::nullopt);
        return;
    }
    auto outcome =
        post_({callback.url, *body, callbackSignature(*key, *body), callback.runId}, stopping_);
    if (stopping_ && !outcome.delivered())
    {
        // Cut short by the stop: not an attempt of the receiver's, made again at the next start.
        return;
    }
    const auto attempts = callback.attempts + 1;
    if (outcome.delivered())
    {
        record(callback, CallbackState::Delivered, attempts, std::move(outcome), std::nullopt);
        return;
    }
    const auto retryIn = retryDelay(attempts, policy_);
    record(callback, retryIn ? CallbackState::Pending : CallbackState::Failed, attempts,
           std::move(outcome), retryIn);
}

void CallbackDeliverer::record(const DueCallback& callback, CallbackState state, unsigned attempts,
                               PostOutcome outcome, std::optional<std::chrono::seconds> retryIn)
{
    const auto now = Clock::now();
    store_.recordCallback(callback.runId, state, attempts, retryIn ? now + *retryIn : now);
    report_(DeliveryReport{callback, state, attempts, std::move(outcome), retryIn});
}

} // namespace pyrunner::core
