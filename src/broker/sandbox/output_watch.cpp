#include "broker/sandbox/output_watch.hpp"

#include "common/run_files.hpp"
#include "daemon/journal.hpp"

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <syslog.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace pyrunner::systemd
{

OutputWatch::OutputWatch(BusThread& bus, OnPassed onPassed)
    : bus_(bus), onPassed_(std::move(onPassed)), inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
{
    if (!inotify_)
    {
        throw std::system_error(errno, std::generic_category(), "inotify_init1");
    }
}

OutputWatch::~OutputWatch() = default;

void OutputWatch::watch(const std::string& key, const std::string& outputDir,
                        std::uint64_t capBytes)
{
    unwatch(key);
    Watched watched;
    watched.capBytes = capBytes;
    const std::array<const char*, 2> names{core::RunFiles::stdoutName, core::RunFiles::stderrName};
    for (std::size_t i = 0; i < names.size(); ++i)
    {
        const auto path = outputDir + "/" + names.at(i);
        auto& stream = watched.streams.at(i);
        stream.file = core::UniqueFd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        if (stream.file)
        {
            stream.watch = ::inotify_add_watch(inotify_.get(), path.c_str(),
                                               IN_MODIFY | IN_DONT_FOLLOW | IN_MASK_CREATE);
        }
        if (!stream.file || stream.watch < 0)
        {
            logMessage(LOG_WARNING, "pyrunner-broker: cannot follow " + path + ": " +
                                        std::strerror(errno) +
                                        "; only LimitFSIZE= bounds it meanwhile");
            continue;
        }
        keyOf_[stream.watch] = key;
    }
    // Written while no one watched: no event will tell of it.
    for (const auto& stream : watched.streams)
    {
        if (stream.file && checkStream(watched, stream))
        {
            watched.passed = true;
        }
    }
    const bool passed = watched.passed;
    watched_.insert_or_assign(key, std::move(watched));
    arm();
    if (passed)
    {
        onPassed_(key);
    }
}

void OutputWatch::unwatch(const std::string& key)
{
    const auto it = watched_.find(key);
    if (it == watched_.end())
    {
        return;
    }
    for (const auto& stream : it->second.streams)
    {
        if (stream.watch >= 0)
        {
            ::inotify_rm_watch(inotify_.get(), stream.watch);
            keyOf_.erase(stream.watch);
        }
        if (stream.file)
        {
            checkStream(it->second, stream);
        }
    }
    watched_.erase(it);
    if (watched_.empty())
    {
        readable_ = {};
    }
}

void OutputWatch::arm()
{
    readable_ = bus_.watchReadable(inotify_.get(), [this] { onReadable(); });
}

void OutputWatch::onReadable()
{
    std::vector<std::string> passed;
    alignas(inotify_event) std::array<char, 4096> buffer{};
    for (;;)
    {
        const auto got = ::read(inotify_.get(), buffer.data(), buffer.size());
        if (got <= 0)
        {
            break;
        }
        for (std::size_t at = 0; at < static_cast<std::size_t>(got);)
        {
            inotify_event event{};
            std::memcpy(&event, buffer.data() + at, sizeof event);
            at += sizeof event + event.len;
            const auto key = keyOf_.find(event.wd);
            if (key == keyOf_.end())
            {
                continue;
            }
            auto& watched = watched_.at(key->second);
            for (const auto& stream : watched.streams)
            {
                if (stream.watch == event.wd && checkStream(watched, stream) &&
                    !std::exchange(watched.passed, true))
                {
                    passed.push_back(key->second);
                }
            }
        }
    }
    if (!watched_.empty())
    {
        arm();
    }
    for (const auto& key : passed)
    {
        onPassed_(key);
    }
}

bool OutputWatch::checkStream(const Watched& watched, const Stream& stream) const
{
    struct stat status
    {
    };
    if (::fstat(stream.file.get(), &status) != 0 ||
        static_cast<std::uint64_t>(status.st_size) <= watched.capBytes)
    {
        return false;
    }
    const auto kept = static_cast<off_t>(watched.capBytes + 1);
    if (status.st_size > kept && ::ftruncate(stream.file.get(), kept) != 0)
    {
        logMessage(LOG_WARNING, std::string("pyrunner-broker: cannot cut back a run's output: ") +
                                    std::strerror(errno));
    }
    return true;
}

} // namespace pyrunner::systemd
