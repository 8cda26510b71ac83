#include "front/http/event_streams.hpp"

#include "front/http/run_json.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::http
{
namespace
{

// epoll tags below the first watcher's key.
constexpr std::uint64_t wakeTag = 1;
constexpr std::uint64_t inotifyTag = 2;

// A watcher sends at most this many events in a row while others wait their turn.
constexpr int eventsPerTurn = 32;

constexpr std::string_view responseHead = "HTTP/1.1 200 OK\r\n"
                                          "Content-Type: text/event-stream; charset=utf-8\r\n"
                                          "Cache-Control: no-store\r\n"
                                          "X-Accel-Buffering: no\r\n"
                                          "Connection: close\r\n"
                                          "\r\n";

[[noreturn]] void throwErrno(const char* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

std::size_t indexOf(core::Stream stream)
{
    return stream == core::Stream::Stdout ? 0 : 1;
}

std::uint64_t sizeOf(const core::UniqueFd& file)
{
    struct stat st
    {
    };
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode))
    {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

std::string readAt(const core::UniqueFd& file, std::uint64_t offset, std::size_t length)
{
    std::string bytes(length, '\0');
    std::size_t done = 0;
    while (done < length)
    {
        const auto n = ::pread(file.get(), bytes.data() + done, length - done,
                               static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

} // namespace

EventStreams::EventStreams(EventStreamsOptions options) : options_(options) {}

EventStreams::~EventStreams()
{
    stop();
}

void EventStreams::start(const core::RunService& service)
{
    service_ = &service;
    epoll_ = core::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    wake_ = core::UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    inotify_ = core::UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!epoll_ || !wake_ || !inotify_)
    {
        throwErrno("cannot set up the event streams' loop");
    }
    for (const auto& [fd, tag] : {std::pair{wake_.get(), wakeTag}, {inotify_.get(), inotifyTag}})
    {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = tag;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
        {
            throwErrno("cannot set up the event streams' loop");
        }
    }
    {
        const std::lock_guard lock(mutex_);
        running_ = true;
    }
    thread_ = std::thread([this] { run(); });
}

void EventStreams::stop()
{
    {
        const std::lock_guard lock(mutex_);
        if (!running_)
        {
            return;
        }
        running_ = false;
        stopping_ = true;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
}

bool EventStreams::watch(const TakeConnection& take, std::string runId, EventPosition from)
{
    {
        const std::lock_guard lock(mutex_);
        if (!running_ || count_.load() >= options_.maxWatchers)
        {
            return false;
        }
        ++count_;
    }
    auto socket = take();
    const std::lock_guard lock(mutex_);
    if (!socket || !running_)
    {
        --count_;
        return true;
    }
    arrivals_.push_back({std::move(socket), std::move(runId), from});
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
    return true;
}

void EventStreams::started(const core::Run& run, std::string_view /*client*/)
{
    const std::lock_guard lock(mutex_);
    if (running_ && count_.load() > 0)
    {
        changed_.push_back(run.id);
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
    }
}

void EventStreams::finished(const core::Run& run, std::string_view client)
{
    started(run, client);
}

void EventStreams::run()
{
    std::array<epoll_event, 64> events{};
    for (;;)
    {
        const auto timeout = again_.empty() ? msUntilNextDeadline(Clock::now()) : 0;
        const auto n =
            ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR)
        {
            std::cerr << "pyrunner: the event streams' loop failed: " << std::strerror(errno)
                      << '\n';
            return;
        }
        for (int i = 0; i < std::max(n, 0); ++i)
        {
            const auto& event = events.at(static_cast<std::size_t>(i));
            const auto tag = event.data.u64;
            if (tag == wakeTag)
            {
                std::uint64_t count = 0;
                [[maybe_unused]] const auto got = ::read(wake_.get(), &count, sizeof count);
                {
                    const std::lock_guard lock(mutex_);
                    if (stopping_)
                    {
                        while (!watchers_.empty())
                        {
                            remove(watchers_.begin()->first, true);
                        }
                        count_ = 0;
                        return;
                    }
                }
                takeHandedOver();
            }
            else if (tag == inotifyTag)
            {
                onInotify();
            }
            else if (watchers_.count(tag) != 0)
            {
                if ((event.events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0U)
                {
                    remove(tag, true);
                }
                else
                {
                    pump(tag);
                }
            }
        }
        const auto turn = std::exchange(again_, {});
        for (const auto key : turn)
        {
            pump(key);
        }
        onDeadlines(Clock::now());
    }
}

void EventStreams::takeHandedOver()
{
    std::vector<Arrival> arrivals;
    std::vector<std::string> changed;
    {
        const std::lock_guard lock(mutex_);
        arrivals.swap(arrivals_);
        changed.swap(changed_);
    }
    for (auto& arrival : arrivals)
    {
        addWatcher(std::move(arrival));
    }
    for (const auto& id : changed)
    {
        if (runs_.count(id) != 0)
        {
            refresh(id);
        }
    }
}

void EventStreams::addWatcher(Arrival arrival)
{
    const auto key = nextKey_++;
    epoll_event event{};
    // Edge-triggered: woken when the socket has room again after it had none.
    event.events = EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = key;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, arrival.socket.get(), &event) != 0)
    {
        --count_;
        return;
    }
    const auto now = Clock::now();
    auto& watcher = watchers_
                        .emplace(key, Watcher{std::move(arrival.socket),
                                              arrival.runId,
                                              EventCursor(arrival.from, 0),
                                              {},
                                              0,
                                              false,
                                              now,
                                              now + options_.pingInterval})
                        .first->second;
    queue(watcher, std::string(responseHead));
    const bool known = runs_.count(arrival.runId) != 0;
    auto& run = runs_[arrival.runId];
    run.watchers.insert(key);
    if (known)
    {
        watcher.cursor = EventCursor(arrival.from, run.cap);
        pump(key);
    }
    else
    {
        refresh(arrival.runId);
    }
}

void EventStreams::refresh(const std::string& runId)
{
    auto& run = runs_.at(runId);
    const auto snapshot = service_->snapshot(runId);
    if (!snapshot)
    {
        // Gone meanwhile (expired): nothing more will come.
        const auto keys = run.watchers;
        for (const auto key : keys)
        {
            remove(key, false);
        }
        return;
    }
    const auto stage = snapshot->over                                    ? EventStage::Final
                       : snapshot->run.status == core::RunStatus::Queued ? EventStage::Queued
                                                                         : EventStage::Running;
    if (run.stage == EventStage::None)
    {
        run.cap = snapshot->run.limits.outputBytes;
        for (const auto key : run.watchers)
        {
            auto& watcher = watchers_.at(key);
            watcher.cursor = EventCursor(watcher.cursor.position(), run.cap);
        }
    }
    if (stage >= EventStage::Running && !run.files[0])
    {
        for (const auto stream : {core::Stream::Stdout, core::Stream::Stderr})
        {
            const auto i = indexOf(stream);
            run.files.at(i) = service_->openOutput(runId, stream);
            if (!run.files.at(i) || stage == EventStage::Final)
            {
                continue;
            }
            // The very file opened, whatever its name may point to by now.
            const auto path = "/proc/self/fd/" + std::to_string(run.files.at(i).get());
            const auto watch =
                ::inotify_add_watch(inotify_.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE);
            run.inotifyWatches.at(i) = watch;
            if (watch >= 0)
            {
                runOfInotifyWatch_[watch] = runId;
            }
        }
    }
    if (stage == EventStage::Final)
    {
        stopFollowing(run);
        if (!run.endJson)
        {
            const auto view = service_->find(runId);
            run.endJson = std::make_shared<const std::string>(
                view ? dumpJson(runToJson(*view)) : dumpJson(runStatusToJson(snapshot->run)));
        }
    }
    run.statusJson = dumpJson(runStatusToJson(snapshot->run));
    run.stage = std::max(run.stage, stage);
    const auto keys = run.watchers;
    for (const auto key : keys)
    {
        pump(key);
    }
}

void EventStreams::stopFollowing(RunWatch& run)
{
    for (auto& watch : run.inotifyWatches)
    {
        if (watch >= 0)
        {
            ::inotify_rm_watch(inotify_.get(), watch);
            runOfInotifyWatch_.erase(watch);
            watch = -1;
        }
    }
}

void EventStreams::onInotify()
{
    alignas(inotify_event) std::array<char, 4096> buffer{};
    std::set<std::string> grown;
    bool overflow = false;
    for (;;)
    {
        const auto n = ::read(inotify_.get(), buffer.data(), buffer.size());
        if (n <= 0)
        {
            break;
        }
        for (std::size_t at = 0; at < static_cast<std::size_t>(n);)
        {
            inotify_event event{};
            std::memcpy(&event, buffer.data() + at, sizeof event);
            at += sizeof event + event.len;
            if ((event.mask & IN_Q_OVERFLOW) != 0U)
            {
                overflow = true;
            }
            const auto run = runOfInotifyWatch_.find(event.wd);
            if (run != runOfInotifyWatch_.end())
            {
                grown.insert(run->second);
            }
        }
    }
    for (const auto& [id, run] : runs_)
    {
        if (overflow || grown.count(id) != 0)
        {
            again_.insert(run.watchers.begin(), run.watchers.end());
        }
    }
}

std::array<std::uint64_t, 2> EventStreams::sizes(const RunWatch& run) const
{
    return {sizeOf(run.files[0]), sizeOf(run.files[1])};
}

void EventStreams::queue(Watcher& watcher, std::string text)
{
    if (!text.empty())
    {
        watcher.pending.push_back(std::make_shared<const std::string>(std::move(text)));
    }
}

bool EventStreams::flush(Key key, Watcher& watcher)
{
    while (!watcher.pending.empty())
    {
        const auto& text = *watcher.pending.front();
        const auto n = ::send(watcher.socket.get(), text.data() + watcher.sent,
                              text.size() - watcher.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
            return false;
        }
        if (n <= 0)
        {
            remove(key, true);
            return false;
        }
        const auto now = Clock::now();
        watcher.lastProgress = now;
        watcher.nextPing = now + options_.pingInterval;
        watcher.sent += static_cast<std::size_t>(n);
        if (watcher.sent == text.size())
        {
            watcher.pending.pop_front();
            watcher.sent = 0;
        }
    }
    return true;
}

void EventStreams::pump(Key key)
{
    try
    {
        for (int turn = 0;; ++turn)
        {
            const auto found = watchers_.find(key);
            if (found == watchers_.end())
            {
                return;
            }
            auto& watcher = found->second;
            if (!flush(key, watcher))
            {
                return;
            }
            if (watcher.closeWhenSent)
            {
                remove(key, false);
                return;
            }
            auto& run = runs_.at(watcher.runId);
            if (run.stage == EventStage::None)
            {
                return;
            }
            if (turn == eventsPerTurn)
            {
                again_.insert(key);
                return;
            }
            const auto step = watcher.cursor.next(run.stage, sizes(run));
            switch (step.kind)
            {
            case EventStep::Kind::Status:
                queue(watcher, watcher.cursor.status(run.stage, run.statusJson));
                break;
            case EventStep::Kind::Output:
            {
                const auto bytes =
                    readAt(run.files.at(indexOf(step.stream)), step.offset, step.length);
                if (bytes.empty())
                {
                    return;
                }
                queue(watcher, watcher.cursor.output(step.stream, bytes,
                                                     step.last && bytes.size() == step.length));
                break;
            }
            case EventStep::Kind::End:
            {
                auto frame = watcher.cursor.end();
                queue(watcher, std::move(frame.head));
                watcher.pending.push_back(run.endJson);
                queue(watcher, std::move(frame.tail));
                watcher.closeWhenSent = true;
                break;
            }
            case EventStep::Kind::Done:
                watcher.closeWhenSent = true;
                break;
            case EventStep::Kind::Wait:
                return;
            }
        }
    }
    catch (const std::exception& error)
    {
        std::cerr << "pyrunner: an event stream failed: " << error.what() << '\n';
        remove(key, true);
    }
}

void EventStreams::remove(Key key, bool abort)
{
    const auto found = watchers_.find(key);
    if (found == watchers_.end())
    {
        return;
    }
    auto& watcher = found->second;
    const auto fd = watcher.socket.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (abort)
    {
        // Whoever closes the connection last resets it: what a stalled client left unread
        // is not kept for it.
        const linger reset{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    // The HTTP server's descriptor of the same socket reads the end of it and lets it go.
    ::shutdown(fd, SHUT_RDWR);
    const auto runId = watcher.runId;
    watchers_.erase(found);
    again_.erase(key);
    --count_;
    const auto run = runs_.find(runId);
    if (run != runs_.end())
    {
        run->second.watchers.erase(key);
        if (run->second.watchers.empty())
        {
            stopFollowing(run->second);
            runs_.erase(run);
        }
    }
}

int EventStreams::msUntilNextDeadline(Clock::time_point now) const
{
    if (watchers_.empty())
    {
        return -1;
    }
    auto next = Clock::time_point::max();
    for (const auto& [key, watcher] : watchers_)
    {
        next =
            std::min(next, watcher.pending.empty() ? watcher.nextPing
                                                   : watcher.lastProgress + options_.stallTimeout);
    }
    if (next <= now)
    {
        return 0;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<long long>(wait, 60'000));
}

void EventStreams::onDeadlines(Clock::time_point now)
{
    std::vector<Key> stalled;
    std::vector<Key> quiet;
    for (const auto& [key, watcher] : watchers_)
    {
        if (!watcher.pending.empty())
        {
            if (now - watcher.lastProgress >= options_.stallTimeout)
            {
                stalled.push_back(key);
            }
        }
        else if (now >= watcher.nextPing)
        {
            quiet.push_back(key);
        }
    }
    for (const auto key : stalled)
    {
        remove(key, true);
    }
    for (const auto key : quiet)
    {
        auto& watcher = watchers_.at(key);
        queue(watcher, std::string(ssePing));
        watcher.nextPing = now + options_.pingInterval;
        pump(key);
    }
}

} // namespace pyrunner::http
