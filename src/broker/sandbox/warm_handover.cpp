#include "broker/sandbox/warm_handover.hpp"

#include "daemon/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

// How long poll() may sleep before the first of `writing` stalls; -1 for none.
template <class Pendings> int msUntilFirstStall(const Pendings& writing)
{
    const auto first = std::ranges::min_element(
        writing, [](const auto& a, const auto& b) { return a.stallsAt < b.stallsAt; });
    if (first == writing.end())
    {
        return -1;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        first->stallsAt - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

// A FIFO at `path` with exactly `mode`, opened non-blocking with `access`; empty when it
// cannot be made.
core::UniqueFd makeFifo(const std::string& path, mode_t mode, int access)
{
    if (::mkfifo(path.c_str(), mode) != 0)
    {
        return {};
    }
    core::UniqueFd fifo(::open(path.c_str(), access | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
    // mkfifo's mode is cut by the umask.
    if (fifo && ::fchmod(fifo.get(), mode) != 0)
    {
        return {};
    }
    return fifo;
}

} // namespace

core::UniqueFd makeHandoverFifo(const std::string& path)
{
    // For reading too, so that opening it never waits for the bootstrap.
    return makeFifo(path, 0604, O_RDWR);
}

core::UniqueFd makeReadyFifo(const std::string& path)
{
    // Non-blocking, so that opening it does not wait for the writer; poll(2) reports no
    // hangup before a writer has come.
    return makeFifo(path, 0602, O_RDONLY);
}

std::optional<std::size_t> writeAvailable(int fd, std::string_view data)
{
    std::size_t done = 0;
    while (done < data.size())
    {
        const auto written = ::write(fd, data.data() + done, data.size() - done);
        if (written > 0)
        {
            done += static_cast<std::size_t>(written);
            continue;
        }
        if (written < 0 && errno == EINTR)
        {
            continue;
        }
        if (written < 0 && errno == EAGAIN)
        {
            break;
        }
        return std::nullopt;
    }
    return done;
}

std::optional<std::size_t> writeHandover(int fd, std::string_view message)
{
    // Best effort: the root broker may grow a pipe past pipe-max-size, within memory.
    ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(message.size()));
    return writeAvailable(fd, message);
}

HandoverWriter::HandoverWriter(OnStalled onStalled, std::chrono::milliseconds roomWait)
    : onStalled_(std::move(onStalled)), roomWait_(roomWait),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!wake_)
    {
        throw std::runtime_error("cannot create an eventfd for the handover writer");
    }
    thread_ = std::thread([this] { loop(); });
}

HandoverWriter::~HandoverWriter()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake();
    thread_.join();
}

void HandoverWriter::write(const std::string& key, core::UniqueFd fifo, std::string rest)
{
    {
        const std::lock_guard lock(mutex_);
        added_.push_back(
            Pending{key, std::move(fifo), std::move(rest), 0, Clock::now() + roomWait_});
    }
    wake();
}

void HandoverWriter::cancel(const std::string& key)
{
    {
        const std::lock_guard lock(mutex_);
        std::erase_if(added_, [&key](const Pending& p) { return p.key == key; });
        // The thread may hold it already.
        cancelled_.push_back(key);
    }
    wake();
}

void HandoverWriter::wake()
{
    const std::uint64_t one = 1;
    // The counter only has to become non-zero; a full counter is as good as a write.
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
}

bool HandoverWriter::takeChanges(std::vector<Pending>& writing)
{
    std::uint64_t count = 0;
    [[maybe_unused]] const auto drained = ::read(wake_.get(), &count, sizeof count);
    const std::lock_guard lock(mutex_);
    // Cancellations first: cancel() dropped the pending writes of its key, so those left were
    // made after it.
    for (const auto& key : cancelled_)
    {
        std::erase_if(writing, [&key](const Pending& p) { return p.key == key; });
    }
    cancelled_.clear();
    std::move(added_.begin(), added_.end(), std::back_inserter(writing));
    added_.clear();
    return !stopping_;
}

bool HandoverWriter::writeSome(Pending& pending) const
{
    const auto written =
        writeAvailable(pending.fifo.get(), std::string_view(pending.rest).substr(pending.written));
    if (!written)
    {
        return false;
    }
    if (*written > 0)
    {
        pending.written += *written;
        pending.stallsAt = Clock::now() + roomWait_;
    }
    return true;
}

void HandoverWriter::loop()
{
    // The thread's own: every FIFO is closed here, never under a poll() of it.
    std::vector<Pending> writing;
    std::vector<pollfd> fds;
    while (takeChanges(writing))
    {
        fds.assign(1, pollfd{wake_.get(), POLLIN, 0});
        for (const auto& pending : writing)
        {
            fds.push_back(pollfd{pending.fifo.get(), POLLOUT, 0});
        }
        if (::poll(fds.data(), fds.size(), msUntilFirstStall(writing)) < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            logMessage(LOG_ERR, std::string("pyrunner-broker: the handover writer stopped: ") +
                                    std::strerror(errno));
            const std::lock_guard lock(mutex_);
            stopping_ = true;
            return;
        }
        std::vector<Pending> left;
        std::vector<std::string> stalled;
        const auto now = Clock::now();
        for (std::size_t i = 0; i < writing.size(); ++i)
        {
            auto& pending = writing[i];
            const bool ok = fds[i + 1].revents == 0 || writeSome(pending);
            if (ok && pending.written == pending.rest.size())
            {
                continue;
            }
            if (!ok || pending.stallsAt <= now)
            {
                stalled.push_back(pending.key);
                continue;
            }
            left.push_back(std::move(pending));
        }
        writing = std::move(left);
        for (const auto& key : stalled)
        {
            onStalled_(key);
        }
    }
}

} // namespace pyrunner::systemd
