#include "front/service_status.hpp"
#include "support/notify_socket.hpp"

#include <gtest/gtest.h>

namespace pyrunner::systemd
{
namespace
{

using test::NotifySocket;

// A service whose load the test sets.
class LoadOnly final : public core::RunService
{
  public:
    std::variant<core::Submitted, core::SubmitError> submit(core::RunRequest /*request*/,
                                                            core::Completion /*onFinal*/) override
    {
        return core::SubmitError::Unavailable;
    }
    std::optional<core::RunView> find(const std::string& /*id*/) const override { return {}; }
    std::optional<std::string> ownerOf(const std::string& /*id*/) const override { return {}; }
    std::optional<std::string> output(const std::string& /*id*/,
                                      core::Stream /*stream*/) const override
    {
        return {};
    }
    std::optional<core::RunSnapshot> snapshot(const std::string& /*id*/) const override
    {
        return {};
    }
    core::UniqueFd openOutput(const std::string& /*id*/, core::Stream /*stream*/) const override
    {
        return {};
    }
    std::optional<core::RunView> cancel(const std::string& /*id*/) override { return {}; }
    std::optional<std::string> collectedFile(const std::string& /*id*/,
                                             std::uint32_t /*index*/) const override
    {
        return {};
    }
    core::Health health() const override { return load; }
    std::vector<core::Environment> environments() const override { return {}; }
    unsigned retryAfterSeconds() const override { return 1; }

    core::Health load;
};

TEST(ServiceStatus, SaysReadyWithTheLoadThenEachChangeOnce)
{
    NotifySocket systemd;
    LoadOnly service;
    ServiceStatus status("Serving on 127.0.0.1:8080");
    status.follow(service);
    status.ready();
    const core::Run run;
    service.load.running = 1;
    status.accepted(run, "");
    status.started(run, "");
    service.load.running = 2;
    service.load.queued = 3;
    status.accepted(run, "");
    status.stopping();
    EXPECT_EQ(
        systemd.received(),
        (std::vector<std::string>{"READY=1\nSTATUS=Serving on 127.0.0.1:8080: 0 running, 0 queued",
                                  "STATUS=Serving on 127.0.0.1:8080: 1 running, 0 queued",
                                  "STATUS=Serving on 127.0.0.1:8080: 2 running, 3 queued",
                                  "STOPPING=1\nSTATUS=Stopping; the runs go on under systemd"}));
}

TEST(ServiceStatus, SaysNothingBeforeItFollowsAService)
{
    NotifySocket systemd;
    ServiceStatus status("Serving");
    status.finished(core::Run{}, "");
    EXPECT_TRUE(systemd.received().empty());
}

} // namespace
} // namespace pyrunner::systemd
