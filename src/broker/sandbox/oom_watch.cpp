#include "broker/sandbox/oom_watch.hpp"

#include "cgroup/cgroup_tree.hpp"
#include "daemon/journal.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <linux/magic.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// systemd addresses a unit's v1 memory cgroup as this directory plus its ControlGroup.
constexpr const char* memoryHierarchy = "/sys/fs/cgroup/memory";

std::runtime_error systemError(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// An empty fd when `name` has vanished; throws on any other failure.
core::UniqueFd openAt(int dir, const std::string& name, int flags)
{
    // O_NOFOLLOW at every step: no link on the way may lead out of the hierarchy.
    core::UniqueFd fd(::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && !cgroupVanished(errno))
    {
        throw systemError("cannot open " + name + " in the memory cgroup tree");
    }
    return fd;
}

// The kernel signals a watched eventfd on an OOM and once more after the cgroup is removed;
// the files of a removed cgroup fail with ENODEV, so only a cgroup that still answers had one.
bool cgroupAlive(int oomControl)
{
    std::array<char, 128> text{};
    return ::pread(oomControl, text.data(), text.size(), 0) >= 0;
}

} // namespace

std::string oomEventLine(int eventFd, int oomControlFd)
{
    return std::to_string(eventFd) + " " + std::to_string(oomControlFd);
}

std::unique_ptr<OomWatch> OomWatch::forHost(OnOom onOom)
{
    auto root = openHierarchy(memoryHierarchy, CGROUP_SUPER_MAGIC);
    if (!root)
    {
        return nullptr;
    }
    return std::make_unique<OomWatch>(std::move(root), std::move(onOom));
}

OomWatch::OomWatch(core::UniqueFd memoryRoot, OnOom onOom)
    : memoryRoot_(std::move(memoryRoot)), onOom_(std::move(onOom)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!wake_)
    {
        throw systemError("cannot create an eventfd for the OOM watch");
    }
    thread_ = std::thread([this] { loop(); });
}

OomWatch::~OomWatch()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake();
    thread_.join();
}

void OomWatch::watch(const std::string& key, const std::string& controlGroup)
{
    // systemd clears ControlGroup once the unit has ended.
    if (controlGroup.empty())
    {
        return;
    }
    const auto dir = openCgroup(memoryRoot_.get(), controlGroup);
    if (!dir)
    {
        return;
    }
    core::UniqueFd event(::eventfd(0, EFD_CLOEXEC));
    if (!event)
    {
        throw systemError("cannot create an eventfd");
    }
    auto oomControl = openAt(dir.get(), "memory.oom_control", O_RDONLY);
    const auto eventControl = openAt(dir.get(), "cgroup.event_control", O_WRONLY);
    if (!oomControl || !eventControl)
    {
        return;
    }
    const auto line = oomEventLine(event.get(), oomControl.get());
    if (::write(eventControl.get(), line.data(), line.size()) < 0)
    {
        if (cgroupVanished(errno))
        {
            return;
        }
        throw systemError("the kernel refused the OOM notification of " + controlGroup);
    }
    {
        const std::lock_guard lock(mutex_);
        if (stopping_)
        {
            throw std::runtime_error("the OOM watch has stopped");
        }
        added_.push_back(Registration{key, std::move(event), std::move(oomControl)});
    }
    wake();
}

void OomWatch::unwatch(const std::string& key)
{
    {
        const std::lock_guard lock(mutex_);
        std::erase_if(added_, [&key](const Registration& r) { return r.key == key; });
        if (stopping_)
        {
            return;
        }
        // The thread may hold it already.
        removed_.push_back(key);
    }
    wake();
}

void OomWatch::wake()
{
    const std::uint64_t one = 1;
    // The counter only has to become non-zero; a full counter is as good as a write.
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
}

bool OomWatch::takeChanges(std::vector<Registration>& watched)
{
    std::uint64_t count = 0;
    [[maybe_unused]] const auto drained = ::read(wake_.get(), &count, sizeof count);
    const std::lock_guard lock(mutex_);
    // Removals first: unwatch() dropped the pending registrations of its key, so those left
    // were made after it.
    for (const auto& key : removed_)
    {
        std::erase_if(watched, [&key](const Registration& r) { return r.key == key; });
    }
    removed_.clear();
    std::move(added_.begin(), added_.end(), std::back_inserter(watched));
    added_.clear();
    return !stopping_;
}

void OomWatch::loop()
{
    // The thread's own: every registration is closed here, never under a poll() of it.
    std::vector<Registration> watched;
    std::vector<pollfd> fds;
    while (takeChanges(watched))
    {
        fds.assign(1, pollfd{wake_.get(), POLLIN, 0});
        for (const auto& registration : watched)
        {
            fds.push_back(pollfd{registration.event.get(), POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            logMessage(LOG_ERR, std::string("pyrunner-broker: the OOM watch stopped: ") +
                                    std::strerror(errno));
            const std::lock_guard lock(mutex_);
            stopping_ = true;
            return;
        }
        // One signal is all a registration is for: the first OOM ends the unit, and a removed
        // cgroup signals no more.
        std::vector<Registration> quiet;
        std::vector<std::string> outOfMemory;
        for (std::size_t i = 0; i < watched.size(); ++i)
        {
            if (fds[i + 1].revents == 0)
            {
                quiet.push_back(std::move(watched[i]));
            }
            else if (cgroupAlive(watched[i].oomControl.get()))
            {
                outOfMemory.push_back(watched[i].key);
            }
        }
        watched = std::move(quiet);
        for (const auto& key : outOfMemory)
        {
            onOom_(key);
        }
    }
}

} // namespace pyrunner::systemd
