#pragma once

#include "front/http/message.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace pyrunner::http
{

// The blocking submissions whose run has not ended. When the server stops, each one is
// answered 503 with the run's address to poll: the run goes on under systemd and the next
// server picks it up, but this connection will not see its end.
class BlockingWaits
{
  public:
    using Token = std::uint64_t;

    // Registers a wait to be answered through `reply`, or nothing once stopped.
    std::optional<Token> add(Reply reply);
    // The run the wait is for, once it is known.
    void bind(Token token, const std::string& runId);
    // Ends the wait and hands back its reply, unless stop() has answered it already.
    std::optional<Reply> take(Token token);
    // Answers every open wait with 503 and refuses new ones; a submission still in
    // progress is answered as soon as its run has an id, which stop() waits for up to
    // `grace`. Idempotent.
    void stop(std::chrono::milliseconds grace);

  private:
    struct Wait
    {
        Reply reply;
        std::string runId;
    };

    std::mutex mutex_;
    std::condition_variable bound_;
    std::map<Token, Wait> waits_;
    Token next_ = 0;
    bool stopped_ = false;
};

// The answer to a blocking submission cut off by the server stopping.
Response stoppingWhileWaiting(const std::string& runId);

} // namespace pyrunner::http
