#pragma once

#include "common/sandbox.hpp"
#include "front/store/run_store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace pyrunner::core
{

struct RetentionOptions
{
    // A finished run and its output are deleted this long after it finished...
    std::chrono::seconds maxAge = std::chrono::hours(24);
    // ...or sooner, oldest first, while the finished runs' output exceeds this.
    std::uint64_t diskBudgetBytes = std::uint64_t{10} * 1024 * 1024 * 1024;
};

// Deletes finished runs (their record and, through the sandbox, their files) when they
// expire. Its thread sleeps until the oldest finished run expires or a run finishes (which
// may put the output over budget); it never touches a run that is not final.
class Retention
{
  public:
    using DeletedHook = std::function<void(const std::string& runId)>;

    Retention(RunStore& store, Sandbox& sandbox, RetentionOptions options, DeletedHook onDeleted);
    ~Retention();
    Retention(const Retention&) = delete;
    Retention& operator=(const Retention&) = delete;
    Retention(Retention&&) = delete;
    Retention& operator=(Retention&&) = delete;

    // Starts the thread that sweeps whenever a run expires or poke() is called.
    void start();
    // A run has finished: look at the budget again.
    void poke();
    // One pass, now; returns how many runs it deleted. Not while the thread runs.
    std::size_t sweep();

  private:
    void loop();

    RunStore& store_;
    Sandbox& sandbox_;
    const RetentionOptions options_;
    const DeletedHook onDeleted_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool poked_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace pyrunner::core
