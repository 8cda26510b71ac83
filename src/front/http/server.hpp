#pragma once

#include "common/limits.hpp"
#include "front/http/api.hpp"
#include "front/http/request_parser.hpp"
#include "front/runs/metrics.hpp"
#include "front/runs/run_service.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pyrunner::http
{

struct ServerOptions
{
    // A host name or an IPv4 or IPv6 address (without brackets).
    std::string address = "127.0.0.1";
    // 0 lets the kernel choose; port() tells which.
    std::uint16_t port = 8080;
    unsigned threads = 2;
    std::size_t maxBodyBytes = 2 * mebibyte;
    std::size_t maxCodeBytes = mebibyte;
    core::LimitPolicy limits = core::LimitPolicy::forCpus(1);
    // A request's line, headers and body must all arrive within this, so a slow client
    // cannot hold a connection.
    std::chrono::milliseconds requestTimeout = std::chrono::seconds(30);
    // How long a connection may wait for a blocking (wait=true) run to end, and how long an
    // idle keep-alive connection stays open. A blocking request cut off by it loses only its
    // answer: the run goes on and GET /runs/{id} shows it.
    std::chrono::milliseconds waitTimeout = std::chrono::minutes(10);
    // The counters GET /metrics shows; the server counts its answers into them.
    std::shared_ptr<core::Metrics> metrics = std::make_shared<core::Metrics>();
    // Who sends each request (api.hpp); not set: no authentication.
    Authenticate authenticate = {};
    // Where GET /runs/{id}/events streams from (api.hpp).
    std::shared_ptr<EventStreams> streams = {};
    // Prefixes a callback_url must lie under; none: callback_url is refused.
    std::vector<std::string> callbackAllow = {};
};

// The HTTP server: serves the API on its own threads until shutdown().
class Server
{
  public:
    Server(core::RunService& service, ServerOptions options);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;
    ~Server();

    // Binds and starts serving without blocking; a server starts once. Throws
    // std::runtime_error when the address cannot be bound.
    void start();
    // Stops serving and joins the server's threads; answers still pending are dropped.
    // Idempotent.
    void shutdown();
    // The bound port, once started.
    std::uint16_t port() const;

  private:
    // Keeps Pistache out of this header.
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace pyrunner::http
