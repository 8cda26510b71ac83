#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace pyrunner::core
{

// A thread of its own that runs the tasks posted to it one at a time, oldest first. What was
// posted before the destructor runs before it returns. A task must not throw.
class SerialWorker
{
  public:
    SerialWorker();
    ~SerialWorker();
    SerialWorker(const SerialWorker&) = delete;
    SerialWorker& operator=(const SerialWorker&) = delete;
    SerialWorker(SerialWorker&&) = delete;
    SerialWorker& operator=(SerialWorker&&) = delete;

    // From any thread, a task included.
    void post(std::function<void()> task);
    // Returns once no task is left to run, those posted meanwhile included.
    void waitIdle();

  private:
    void loop();

    std::mutex mutex_;
    std::condition_variable posted_;
    std::condition_variable idle_;
    std::deque<std::function<void()>> tasks_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace pyrunner::core
