#include "front/callbacks/deliverer.hpp"
#include "front/callbacks/signature.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace pyrunner::core
{
namespace
{

using std::chrono::seconds;

// What the deliverer posted and reported, and the statuses its receiver answers with in turn
// (200 once they run out).
class Receiver
{
  public:
    explicit Receiver(std::deque<long> answers) : answers_(std::move(answers)) {}

    PostOutcome post(const CallbackRequest& request)
    {
        const std::lock_guard lock(mutex_);
        posted_.push_back(request);
        if (answers_.empty())
        {
            return {200, {}};
        }
        const auto status = answers_.front();
        answers_.pop_front();
        return {status, status == 0 ? "connection refused" : ""};
    }

    void report(const DeliveryReport& report)
    {
        {
            const std::lock_guard lock(mutex_);
            reports_.push_back(report);
        }
        changed_.notify_all();
    }

    // The reports once there are `count`, or those there are after a generous deadline.
    std::vector<DeliveryReport> reports(std::size_t count)
    {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, seconds(30), [&] { return reports_.size() >= count; });
        return reports_;
    }

    std::vector<CallbackRequest> posted()
    {
        const std::lock_guard lock(mutex_);
        return posted_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<long> answers_;
    std::vector<CallbackRequest> posted_;
    std::vector<DeliveryReport> reports_;
};

constexpr const char* key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Fixture
{
    test::TempDir dir{"pyrunner-deliverer"};
    RunStore store{dir.path() / "runs.sqlite3"};

    // A run of alice that has ended with a callback, so pending in the store.
    void finishedWithCallback(const std::string& id, const std::string& tenant = "alice")
    {
        core::Run run;
        run.id = id;
        run.tenant = tenant;
        run.unit = "pyrunner-" + id + ".service";
        run.environment = "default";
        run.createdAt = Clock::now();
        run.callbackUrl = "http://127.0.0.1:9/hook/" + id;
        store.insert(run, RunRequest{});
        run.status = RunStatus::Succeeded;
        run.finishedAt = Clock::now();
        store.finish(run, 0);
    }

    std::unique_ptr<CallbackDeliverer> deliverer(Receiver& receiver, RetryPolicy policy)
    {
        return std::make_unique<CallbackDeliverer>(
            store, [](const std::string& id) { return std::optional("{\"id\": \"" + id + "\"}"); },
            [](const std::string& tenant) {
            return tenant == "alice" ? std::optional<std::string>(key) : std::nullopt;
            },
            [&receiver](const CallbackRequest& request, const std::atomic<bool>& /*stopping*/) {
            return receiver.post(request);
        },
            [&receiver](const DeliveryReport& report) { receiver.report(report); }, policy);
    }
};

// Retries at once, so that tests wait for nothing but the deliverer's thread.
constexpr RetryPolicy noWaits{seconds(0), seconds(0), 3};

TEST(CallbackDeliverer, TakesUpWhatTheStoreHoldsPendingAndSignsTheBody)
{
    Fixture f;
    f.finishedWithCallback("a");
    Receiver receiver({});
    const auto deliverer = f.deliverer(receiver, noWaits);
    deliverer->start();
    const auto reports = receiver.reports(1);
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].state, CallbackState::Delivered);
    EXPECT_EQ(reports[0].attempts, 1U);
    const auto posted = receiver.posted();
    ASSERT_EQ(posted.size(), 1U);
    EXPECT_EQ(posted[0].url, "http://127.0.0.1:9/hook/a");
    EXPECT_EQ(posted[0].runId, "a");
    EXPECT_EQ(posted[0].body, "{\"id\": \"a\"}");
    EXPECT_EQ(posted[0].signature, callbackSignature(key, posted[0].body));
    EXPECT_EQ(f.store.callbackOf("a"), std::pair(CallbackState::Delivered, 1U));
}

TEST(CallbackDeliverer, APokeAfterARunEndsDeliversIt)
{
    Fixture f;
    Receiver receiver({});
    const auto deliverer = f.deliverer(receiver, noWaits);
    deliverer->start();
    f.finishedWithCallback("b");
    deliverer->poke();
    const auto reports = receiver.reports(1);
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].callback.runId, "b");
    EXPECT_EQ(reports[0].state, CallbackState::Delivered);
}

TEST(CallbackDeliverer, AnythingButTwoHundredsIsRetriedUntilDelivered)
{
    Fixture f;
    f.finishedWithCallback("a");
    Receiver receiver({500, 0});
    const auto deliverer = f.deliverer(receiver, noWaits);
    deliverer->start();
    const auto reports = receiver.reports(3);
    ASSERT_EQ(reports.size(), 3U);
    EXPECT_EQ(reports[0].state, CallbackState::Pending);
    EXPECT_EQ(reports[0].outcome.status, 500);
    EXPECT_EQ(reports[1].state, CallbackState::Pending);
    EXPECT_EQ(reports[1].outcome.error, "connection refused");
    EXPECT_EQ(reports[2].state, CallbackState::Delivered);
    EXPECT_EQ(reports[2].attempts, 3U);
    EXPECT_EQ(f.store.callbackOf("a"), std::pair(CallbackState::Delivered, 3U));
}

TEST(CallbackDeliverer, GivesUpAfterTheLastAttempt)
{
    Fixture f;
    f.finishedWithCallback("a");
    Receiver receiver({500, 302, 404, 500});
    const auto deliverer = f.deliverer(receiver, noWaits);
    deliverer->start();
    const auto reports = receiver.reports(3);
    ASSERT_EQ(reports.size(), 3U);
    EXPECT_EQ(reports[2].state, CallbackState::Failed);
    EXPECT_EQ(reports[2].outcome.status, 404);
    EXPECT_EQ(f.store.callbackOf("a"), std::pair(CallbackState::Failed, 3U));
    EXPECT_EQ(f.store.nextCallbackDue(), std::nullopt);
}

TEST(CallbackDeliverer, AFailedAttemptWaitsItsDelay)
{
    Fixture f;
    f.finishedWithCallback("a");
    Receiver receiver({500});
    const auto deliverer = f.deliverer(receiver, RetryPolicy{seconds(3600), seconds(3600), 3});
    deliverer->start();
    const auto reports = receiver.reports(1);
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].retryIn, seconds(3600));
    EXPECT_EQ(f.store.callbackOf("a"), std::pair(CallbackState::Pending, 1U));
    const auto next = f.store.nextCallbackDue();
    ASSERT_TRUE(next);
    EXPECT_GT(*next, Clock::now() + seconds(3000));
}

TEST(CallbackDeliverer, ATenantWithoutAKeyFailsWithoutAPost)
{
    Fixture f;
    f.finishedWithCallback("c", "bob");
    Receiver receiver({});
    const auto deliverer = f.deliverer(receiver, noWaits);
    deliverer->start();
    const auto reports = receiver.reports(1);
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].state, CallbackState::Failed);
    EXPECT_EQ(reports[0].outcome.error, "tenant bob has no callback key");
    EXPECT_TRUE(receiver.posted().empty());
}

} // namespace
} // namespace pyrunner::core
