#include "common/serial_worker.hpp"

#include <utility>

namespace pyrunner::core
{

SerialWorker::SerialWorker() : thread_([this] { loop(); }) {}

SerialWorker::~SerialWorker()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    posted_.notify_all();
    thread_.join();
}

void SerialWorker::post(std::function<void()> task)
{
    {
        const std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    posted_.notify_all();
}

void SerialWorker::waitIdle()
{
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return tasks_.empty() && !busy_; });
}

void SerialWorker::loop()
{
    std::unique_lock lock(mutex_);
    while (true)
    {
        posted_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty())
        {
            return;
        }
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        busy_ = true;
        lock.unlock();
        task();
        // Gone before the lock is taken again: what it holds may post on destruction.
        task = nullptr;
        lock.lock();
        busy_ = false;
        if (tasks_.empty())
        {
            idle_.notify_all();
        }
    }
}

} // namespace pyrunner::core
