#include "broker/environments/serial_worker.hpp"

#include <utility>

namespace pyrunner::systemd
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
        lock.unlock();
        task();
        // Gone before the lock is taken again: what it holds may post on destruction.
        task = nullptr;
        lock.lock();
    }
}

} // namespace pyrunner::systemd
