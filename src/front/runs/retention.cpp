#include "front/runs/retention.hpp"

#include <exception>
#include <iostream>

namespace pyrunner::core
{

Retention::Retention(RunStore& store, Sandbox& sandbox, RetentionOptions options,
                     DeletedHook onDeleted)
    : store_(store), sandbox_(sandbox), options_(options), onDeleted_(std::move(onDeleted))
{
}

void Retention::start()
{
    thread_ = std::thread([this] { loop(); });
}

Retention::~Retention()
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

void Retention::poke()
{
    {
        const std::lock_guard lock(mutex_);
        poked_ = true;
    }
    wake_.notify_all();
}

std::size_t Retention::sweep()
{
    const auto expired = store_.expired(Clock::now() - options_.maxAge, options_.diskBudgetBytes);
    for (const auto& id : expired)
    {
        // The files first: a record without files reads as empty output, files without a
        // record would never be deleted.
        sandbox_.release(id);
        store_.erase(id);
        if (onDeleted_)
        {
            onDeleted_(id);
        }
    }
    return expired.size();
}

void Retention::loop()
{
    std::unique_lock lock(mutex_);
    while (!stopping_)
    {
        lock.unlock();
        std::optional<TimePoint> next;
        try
        {
            sweep();
            if (const auto oldest = store_.oldestFinish())
            {
                next = *oldest + options_.maxAge;
            }
        }
        catch (const std::exception& error)
        {
            // Deleting fails only with the store (e.g. a full disk): try again at the next
            // finished run rather than spin.
            std::cerr << "pyrunner: deleting expired runs failed: " << error.what() << '\n';
        }
        lock.lock();
        const auto woken = [this] { return stopping_ || poked_; };
        if (next)
        {
            wake_.wait_until(lock, *next, woken);
        }
        else
        {
            wake_.wait(lock, woken);
        }
        poked_ = false;
    }
}

} // namespace pyrunner::core
