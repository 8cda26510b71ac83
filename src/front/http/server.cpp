#include "front/http/server.hpp"

#include "front/http/api.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>

#include <condition_variable>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <sys/socket.h>

namespace pyrunner::http
{

namespace Http = Pistache::Http;

namespace
{

// Lets answers from run threads reach Pistache only while its endpoint lives: shutdown()
// closes the gate before the endpoint's transports go away, once the answers already
// handed over are out (or a short grace has passed).
class ReplyGate
{
  public:
    // `send` gets a callback to call once its bytes are written or have failed, which may
    // happen before `send` returns.
    template <typename Send> void pass(Send&& send)
    {
        const std::shared_lock open(openMutex_);
        if (closed_)
        {
            return;
        }
        {
            const std::lock_guard lock(countMutex_);
            ++inFlight_;
        }
        send([this] { written(); });
    }

    void drain(std::chrono::milliseconds grace)
    {
        std::unique_lock lock(countMutex_);
        drained_.wait_for(lock, grace, [this] { return inFlight_ == 0; });
    }

    void close()
    {
        const std::unique_lock open(openMutex_);
        closed_ = true;
    }

  private:
    void written()
    {
        const std::lock_guard lock(countMutex_);
        --inFlight_;
        drained_.notify_all();
    }

    // Shared by senders, taken alone by close().
    std::shared_mutex openMutex_;
    bool closed_ = false;
    std::mutex countMutex_;
    std::condition_variable drained_;
    std::size_t inFlight_ = 0;
};

// Room for the request line and headers on top of the largest body.
constexpr std::size_t headerRoom = std::size_t{64} * 1024;

// A body declared with Content-Length is refused as soon as its headers are in; only a
// chunked body is buffered until it overflows.
constexpr std::size_t pistacheBufferBytes(std::size_t maxBodyBytes)
{
    return maxBodyBytes + headerRoom;
}

// How long a stopping server gives the answers it has handed over to reach their clients.
constexpr auto drainGrace = std::chrono::seconds(2);

// Marks a connection whose request was refused: the rest of what it sends is dropped unread.
constexpr const char* refusedMark = "pyrunner.refused";
// Marks a connection handed over to an event stream, which alone writes to it from then on:
// what else the client sends is dropped unread.
constexpr const char* streamingMark = "pyrunner.streaming";

// A response header Pistache has no type for; it writes only typed headers.
class TextHeader : public Http::Header::Header
{
  public:
    TextHeader(std::string name, std::string value)
        : name_(std::move(name)), value_(std::move(value))
    {
    }

    const char* name() const override { return name_.c_str(); }
    void write(std::ostream& stream) const override { stream << value_; }
    std::uint64_t hash() const override { return Http::Header::detail::hash(name_.c_str()); }

  private:
    std::string name_;
    std::string value_;
};

void addHeaders(Http::ResponseWriter& writer, const Response& response)
{
    auto& headers = writer.headers();
    headers.add(std::make_shared<TextHeader>("Content-Type", response.contentType));
    for (const auto& [name, value] : response.headers)
    {
        headers.add(std::make_shared<TextHeader>(name, value));
    }
}

// The peer's address without its port, so that `journalctl CLIENT=...` finds every run of a
// client.
std::string clientOf(const Http::Request& request)
{
    return request.address().host();
}

// Pistache parses Authorization into its typed header, whose value is the field as sent.
std::optional<std::string> authorizationOf(const Http::Request& request)
{
    if (const auto typed = request.headers().tryGet<Http::Header::Authorization>())
    {
        return typed->value();
    }
    if (const auto raw = request.headers().tryGetRaw("Authorization"))
    {
        return raw->value();
    }
    return std::nullopt;
}

// The writer of one request, answered once, maybe later and from another thread.
class PendingReply
{
  public:
    PendingReply(Http::ResponseWriter writer, std::shared_ptr<ReplyGate> gate)
        : writer_(std::move(writer)), gate_(std::move(gate))
    {
    }

    void send(const Response& response)
    {
        const std::lock_guard lock(mutex_);
        if (sent_)
        {
            return;
        }
        sent_ = true;
        gate_->pass([&](const std::function<void()>& written) { write(response, written); });
    }

  private:
    void write(const Response& response, const std::function<void()>& written)
    {
        try
        {
            addHeaders(writer_, response);
            // The client may be gone by now; that is no error of ours.
            writer_.send(static_cast<Http::Code>(response.status), response.body)
                .then([written](ssize_t /*bytes*/) { written(); },
                      [written](const std::exception_ptr& /*error*/) { written(); });
        }
        catch (const std::exception& error)
        {
            written();
            std::cerr << "pyrunner: sending a response failed: " << error.what() << '\n';
        }
    }

    std::mutex mutex_;
    bool sent_ = false;
    Http::ResponseWriter writer_;
    std::shared_ptr<ReplyGate> gate_;
};

class RequestHandler : public Http::Handler
{
  public:
    HTTP_PROTOTYPE(RequestHandler)

    RequestHandler(std::shared_ptr<const Api> api, std::shared_ptr<ReplyGate> gate)
        : api_(std::move(api)), gate_(std::move(gate))
    {
    }

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override
    {
        try
        {
            // Pistache cuts off a connection busy with a request once the header timeout has
            // passed since the request began, even while its answer waits for a run. Marked
            // idle, the connection waits under the keep-alive timeout (waitTimeout) instead.
            writer.peer()->setIdle(true);
            const std::weak_ptr<Pistache::Tcp::Peer> peer = writer.peer();
            auto pending = std::make_shared<PendingReply>(std::move(writer), gate_);
            const auto contentTypeHeader = request.headers().tryGetRaw("Content-Type");
            const std::string contentType = contentTypeHeader ? contentTypeHeader->value() : "";
            const auto wait = request.query().get("wait");
            const auto client = clientOf(request);
            const auto authorization = authorizationOf(request);
            // Raw::value() answers a copy: kept here, where the request's view of it lives.
            const auto lastEventIdHeader = request.headers().tryGetRaw("Last-Event-ID");
            const auto lastEventId = lastEventIdHeader
                                         ? std::optional<std::string>(lastEventIdHeader->value())
                                         : std::nullopt;
            const Request apiRequest{
                Http::methodString(request.method()),
                request.resource(),
                contentType,
                request.body(),
                wait ? std::optional<std::string_view>(*wait) : std::nullopt,
                client,
                authorization ? std::optional<std::string_view>(*authorization) : std::nullopt,
                lastEventId ? std::optional<std::string_view>(*lastEventId) : std::nullopt,
                [peer] { return takeConnection(peer); },
            };
            api_->handle(apiRequest,
                         [pending](const Response& response) { pending->send(response); });
        }
        catch (const std::exception& error)
        {
            // Only a vanished peer gets here; there is nobody left to answer.
            std::cerr << "pyrunner: a request could not be handled: " << error.what() << '\n';
        }
    }

  private:
    // Runs on the connection's own Pistache thread, while its request is handled.
    static core::UniqueFd takeConnection(const std::weak_ptr<Pistache::Tcp::Peer>& weakPeer)
    {
        const auto peer = weakPeer.lock();
        if (!peer)
        {
            return {};
        }
        core::UniqueFd socket(::fcntl(peer->fd(), F_DUPFD_CLOEXEC, 0));
        if (socket)
        {
            peer->putData(streamingMark, std::make_shared<bool>(true));
        }
        return socket;
    }

    // Pistache's own dispatch (Http::Handler::onInput), with three differences: a request the
    // library cannot parse gets a 4xx in JSON, never a 500; a body declared too large is
    // refused before it arrives; and after a refusal the connection is drained and closed
    // rather than its remaining bytes parsed as further requests, which kept a thread busy.
    void onInput(const char* buffer, std::size_t length,
                 const std::shared_ptr<Pistache::Tcp::Peer>& peer) override
    {
        if (peer->tryGetData(refusedMark) || peer->tryGetData(streamingMark))
        {
            return;
        }
        auto parser = getParser(peer);
        auto& request = parser->request;
        std::optional<Response> refusal;
        bool complete = false;
        try
        {
            if (!parser->feed(buffer, length))
            {
                refusal = requestTooLarge(api_->options().maxBodyBytes);
            }
            else
            {
                complete = parser->parse() == Http::Private::State::Done;
                const auto declared = request.headers().tryGet<Http::Header::ContentLength>();
                if (!complete && declared && declared->value() > api_->options().maxBodyBytes)
                {
                    refusal = bodyTooLarge(declared->value(), api_->options().maxBodyBytes);
                }
            }
        }
        catch (const Http::HttpError& error)
        {
            refusal = malformedRequest(error.code(), error.reason());
        }
        catch (const std::exception& /*error*/)
        {
            // What the library's parser throws beyond HttpError (std::length_error for a
            // negative Content-Length) says nothing a client could act on.
            refusal = malformedRequest(400, "a header could not be read");
        }
        if (refusal)
        {
            refuse(peer, request.version(), *refusal);
            parser->reset();
        }
        else if (complete)
        {
            dispatch(request, peer);
            parser->reset();
        }
    }

    void dispatch(Http::Request& request, const std::shared_ptr<Pistache::Tcp::Peer>& peer)
    {
        Http::ResponseWriter writer(request.version(), transport(), this, peer);
        request.copyAddress(peer->address());
        // HTTP/1.1 keeps a connection open unless told otherwise; HTTP/1.0 closes it.
        const auto connection = request.headers().tryGet<Http::Header::Connection>();
        const auto fallback = request.version() == Http::Version::Http11
                                  ? Http::ConnectionControl::KeepAlive
                                  : Http::ConnectionControl::Close;
        writer.headers().add<Http::Header::Connection>(connection ? connection->control()
                                                                  : fallback);
        peer->setIdle(false);
        onRequest(request, std::move(writer));
    }

    // Answers, then half-closes once the answer is out: the client reads it and the end of
    // the stream instead of a reset, and whatever it still sends is dropped until it hangs up
    // (or the request timeout ends the connection).
    void refuse(const std::shared_ptr<Pistache::Tcp::Peer>& peer, Http::Version version,
                const Response& response)
    {
        peer->putData(refusedMark, std::make_shared<bool>(true));
        api_->options().metrics->httpResponse(response.status);
        Http::ResponseWriter writer(version, transport(), this, peer);
        addHeaders(writer, response);
        writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
        const std::weak_ptr<Pistache::Tcp::Peer> weakPeer = peer;
        writer.send(static_cast<Http::Code>(response.status), response.body)
            .then(
                [weakPeer](ssize_t /*bytes*/) {
            if (const auto sent = weakPeer.lock())
            {
                ::shutdown(sent->fd(), SHUT_WR);
            }
                },
                Pistache::Async::IgnoreException);
    }

    std::shared_ptr<const Api> api_;
    std::shared_ptr<ReplyGate> gate_;
};

} // namespace

struct Server::State
{
    ServerOptions options;
    std::shared_ptr<const Api> api;
    std::shared_ptr<ReplyGate> gate = std::make_shared<ReplyGate>();
    std::unique_ptr<Http::Endpoint> endpoint;
    bool started = false;
};

Server::Server(core::RunService& service, ServerOptions options) : state_(std::make_unique<State>())
{
    state_->api = std::make_shared<const Api>(
        service,
        ApiOptions{options.maxBodyBytes, options.maxCodeBytes, options.limits, options.metrics,
                   options.authenticate, options.streams, options.callbackAllow});
    state_->options = std::move(options);
}

Server::~Server()
{
    shutdown();
}

void Server::start()
{
    auto& state = *state_;
    if (state.started)
    {
        throw std::logic_error("a server starts only once");
    }
    state.started = true;
    const auto& options = state.options;
    // Pistache reads "host:port", so an IPv6 host needs its brackets.
    const bool ipv6 = options.address.find(':') != std::string::npos;
    const Pistache::Address address(ipv6 ? "[" + options.address + "]" : options.address,
                                    Pistache::Port(options.port));
    auto endpoint = std::make_unique<Http::Endpoint>(address);
    endpoint->init(Http::Endpoint::options()
                       .threads(static_cast<int>(options.threads))
                       .flags(Pistache::Tcp::Options::ReuseAddr)
                       .maxRequestSize(pistacheBufferBytes(options.maxBodyBytes))
                       .headerTimeout(options.requestTimeout)
                       .bodyTimeout(options.requestTimeout)
                       .keepaliveTimeout(options.waitTimeout));
    endpoint->setHandler(Http::make_handler<RequestHandler>(state.api, state.gate));
    endpoint->serveThreaded();
    state.endpoint = std::move(endpoint);
}

void Server::shutdown()
{
    if (state_->endpoint)
    {
        // Blocking callers learn where to poll; their answers get a moment to go out.
        state_->api->stopWaiting(drainGrace);
        state_->gate->drain(drainGrace);
    }
    state_->gate->close();
    if (state_->endpoint)
    {
        state_->endpoint->shutdown();
        state_->endpoint.reset();
    }
}

std::uint16_t Server::port() const
{
    return state_->endpoint ? static_cast<std::uint16_t>(state_->endpoint->getPort()) : 0;
}

} // namespace pyrunner::http
