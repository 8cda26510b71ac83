#include "http/server.hpp"

#include "http/api.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>

#include <iostream>
#include <mutex>
#include <stdexcept>

namespace pyrunner::http
{

namespace Http = Pistache::Http;

namespace
{

// Lets answers from run threads reach Pistache only while its endpoint lives: shutdown()
// closes the gate before the endpoint's transports go away.
class ReplyGate
{
  public:
    template <typename Send> void pass(Send&& send)
    {
        const std::lock_guard lock(mutex_);
        if (!closed_)
        {
            send();
        }
    }

    void close()
    {
        const std::lock_guard lock(mutex_);
        closed_ = true;
    }

  private:
    std::mutex mutex_;
    bool closed_ = false;
};

// Room for the request line and headers on top of the largest body.
constexpr std::size_t headerRoom = std::size_t{64} * 1024;

// Pistache refuses a request past its buffer with a plain-text 413 and leaves the rest of
// the body on the connection. Buffering twice the largest body lets the API answer the
// common "a little too large" case itself, in JSON, with the connection still in step.
constexpr std::size_t pistacheBufferBytes(std::size_t maxBodyBytes)
{
    return 2 * maxBodyBytes + headerRoom;
}

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
        gate_->pass([&] { write(response); });
    }

  private:
    void write(const Response& response)
    {
        try
        {
            auto& headers = writer_.headers();
            headers.add(std::make_shared<TextHeader>("Content-Type", response.contentType));
            for (const auto& [name, value] : response.headers)
            {
                headers.add(std::make_shared<TextHeader>(name, value));
            }
            // The client may be gone by now; that is no error of ours.
            writer_.send(static_cast<Http::Code>(response.status), response.body)
                .then([](ssize_t /*bytes*/) {}, Pistache::Async::IgnoreException);
        }
        catch (const std::exception& error)
        {
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
            auto pending = std::make_shared<PendingReply>(std::move(writer), gate_);
            const auto contentTypeHeader = request.headers().tryGetRaw("Content-Type");
            const std::string contentType = contentTypeHeader ? contentTypeHeader->value() : "";
            const auto wait = request.query().get("wait");
            const Request apiRequest{
                Http::methodString(request.method()),
                request.resource(),
                contentType,
                request.body(),
                wait ? std::optional<std::string_view>(*wait) : std::nullopt,
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
        service, ApiOptions{options.maxBodyBytes, options.maxCodeBytes, options.limits});
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
