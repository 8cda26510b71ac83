#include "run_manager_fixture.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

using test::RunManagerTest;

class TenantsTest : public RunManagerTest
{
  protected:
    std::variant<Submitted, SubmitError> submitAs(const std::string& tenant,
                                                  const TenantShare& share = {})
    {
        RunRequest request;
        request.code = "print(1)";
        request.tenant = tenant;
        request.share = share;
        return manager_->submit(request, {});
    }

    std::string idOf(const std::variant<Submitted, SubmitError>& submitted)
    {
        return std::get<Submitted>(submitted).view.run.id;
    }
};

TEST_F(TenantsTest, ARunBelongsToItsTenantInTheStoreToo)
{
    auto& m = manager(2, 2);
    const auto id = idOf(submitAs("alice"));
    EXPECT_EQ(m.find(id)->run.tenant, "alice");
    EXPECT_EQ(m.ownerOf(id), "alice");
    EXPECT_EQ(m.ownerOf("no-such-run"), std::nullopt);
    exitWith(id, 0);
    EXPECT_EQ(m.ownerOf(id), "alice");
    EXPECT_EQ(store_->find(id)->tenant, "alice");
}

TEST_F(TenantsTest, EachRunRunsInItsTenantsSliceWithItsCaps)
{
    manager(2, 2);
    TenantShare share;
    share.caps = {50, 256};
    const auto id = idOf(submitAs("alice", share));
    EXPECT_EQ(sandbox_.runs.at(id).first.slice, (TenantSlice{"alice", {50, 256}}));
}

TEST_F(TenantsTest, ATenantsRunningCapKeepsItsOtherRunsQueued)
{
    auto& m = manager(4, 8);
    TenantShare one;
    one.maxRunning = 1;
    const auto a1 = idOf(submitAs("alice", one));
    const auto a2 = idOf(submitAs("alice", one));
    const auto b1 = idOf(submitAs("bob"));
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{a1, b1}));
    EXPECT_EQ(m.health().tenants.at("alice"), (Health::TenantRuns{1, 1}));
    exitWith(a1, 0);
    EXPECT_EQ(sandbox_.started, (std::vector<std::string>{a1, b1, a2}));
}

TEST_F(TenantsTest, ATenantsFullShareOfTheQueueIsRefusedForItAlone)
{
    manager(1, 8);
    TenantShare share;
    share.maxQueued = 1;
    idOf(submitAs("alice", share));
    idOf(submitAs("alice", share));
    EXPECT_EQ(std::get<SubmitError>(submitAs("alice", share)), SubmitError::TenantQueueFull);
    EXPECT_NE(
        std::find(events_.seen.begin(), events_.seen.end(), "refused tenant-queue-full  alice"),
        events_.seen.end());
    EXPECT_TRUE(std::holds_alternative<Submitted>(submitAs("bob")));
}

TEST_F(TenantsTest, AnotherTenantsRunTakesTheNextFreeSlotAfterABurst)
{
    auto& m = manager(2, 300);
    std::vector<std::string> burst;
    for (int i = 0; i < 200; ++i)
    {
        burst.push_back(idOf(submitAs("alice")));
    }
    const auto b = idOf(submitAs("bob"));
    EXPECT_EQ(m.health().queued, 199U);
    exitWith(burst[0], 0);
    EXPECT_EQ(sandbox_.started.back(), b);
    EXPECT_EQ(sandbox_.started.size(), 3U);
}

TEST_F(TenantsTest, WarmUnitsServeOnlyTheTenantTheyWerePreparedFor)
{
    RunManagerOptions options;
    options.maxRunning = 4;
    options.maxQueued = 4;
    options.warmPools["default"] = 1;
    options.warmTenants = {"alice"};
    manager_.emplace(sandbox_, files_, *store_, options, events_);
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), 1U);
    const auto warm = sandbox_.prepared[0];
    EXPECT_EQ(sandbox_.preparedSlice.at(warm).tenant, "alice");
    started(warm);
    const auto bob = idOf(submitAs("bob"));
    EXPECT_NE(bob, warm);
    const auto alice = idOf(submitAs("alice"));
    EXPECT_EQ(alice, warm);
}

TEST_F(TenantsTest, ANewTenantGetsItsPoolsAndTheLeastRecentLosesTheirs)
{
    RunManagerOptions options;
    options.maxRunning = 8;
    options.maxQueued = 8;
    options.warmPools["default"] = 1;
    options.warmTenants = {"t0", "t1", "t2", "t3"};
    manager_.emplace(sandbox_, files_, *store_, options, events_);
    recover();
    ASSERT_EQ(sandbox_.prepared.size(), maxWarmTenants);
    const auto oldest = sandbox_.prepared.back();
    ASSERT_EQ(sandbox_.preparedSlice.at(oldest).tenant, "t3");
    submitAs("newcomer");
    manager_->waitIdle();
    EXPECT_EQ(sandbox_.preparedSlice.at(sandbox_.prepared.back()).tenant, "newcomer");
    EXPECT_NE(std::find(sandbox_.killed.begin(), sandbox_.killed.end(), oldest),
              sandbox_.killed.end());
}

} // namespace
} // namespace pyrunner::core
