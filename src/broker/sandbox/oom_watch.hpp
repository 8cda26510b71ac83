#pragma once

#include "common/fd.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pyrunner::systemd
{

// The line cgroup.event_control takes to signal `eventFd` on the OOM of `oomControlFd`'s cgroup.
std::string oomEventLine(int eventFd, int oomControlFd);

// Where the memory controller is cgroup v1, systemd never learns of the kernel's memcg OOM
// kills, so OOMPolicy=kill cannot end a unit. This asks the kernel itself: an eventfd per
// watched cgroup, tied to its memory.oom_control through cgroup.event_control, and one owned
// thread that poll()s them together with a wake-up eventfd.
class OomWatch
{
  public:
    // Runs on the watcher thread, at most once per watch(), with the key watch() was given.
    using OnOom = std::function<void(const std::string& key)>;

    // nullptr unless /sys/fs/cgroup/memory is a cgroup-v1 hierarchy: on v2 systemd sees OOM
    // kills itself. Throws std::runtime_error if the thread cannot be set up.
    static std::unique_ptr<OomWatch> forHost(OnOom onOom);

    // `memoryRoot`: the v1 memory hierarchy's root directory, the base of every cgroup path.
    OomWatch(core::UniqueFd memoryRoot, OnOom onOom);
    // Joins the thread; no report starts after it returns.
    ~OomWatch();
    OomWatch(const OomWatch&) = delete;
    OomWatch& operator=(const OomWatch&) = delete;
    OomWatch(OomWatch&&) = delete;
    OomWatch& operator=(OomWatch&&) = delete;

    // Reports an OOM in the cgroup `controlGroup` (as systemd names it) under `key` from now
    // on. Does nothing when the cgroup is gone already (its unit has ended); throws
    // std::runtime_error with a sentence when the kernel cannot be asked.
    void watch(const std::string& key, const std::string& controlGroup);
    // Stops watching `key`; a report already under way may still arrive. Harmless for a key
    // that is not watched.
    void unwatch(const std::string& key);

  private:
    struct Registration
    {
        std::string key;
        core::UniqueFd event;
        // Kept to tell an OOM from the cgroup's removal, which the kernel also signals.
        core::UniqueFd oomControl;
    };

    void loop();
    // Hands the pending changes to the thread's own list; false once the watch is stopping.
    bool takeChanges(std::vector<Registration>& watched);
    void wake();

    const core::UniqueFd memoryRoot_;
    const OnOom onOom_;
    core::UniqueFd wake_;
    std::mutex mutex_;
    // Guarded by mutex_: what watch() and unwatch() left for the thread to apply.
    std::vector<Registration> added_;
    std::vector<std::string> removed_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace pyrunner::systemd
