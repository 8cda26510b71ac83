#include "front/broker_link/followed_runs.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace pyrunner::systemd
{
namespace
{

using Request = FollowedRuns::Request;
using AfterFollow = FollowedRuns::AfterFollow;

const std::string run = "0123456789abcdef0123456789abcdef";
const std::string other = "fedcba9876543210fedcba9876543210";

core::SandboxRun runOf(const std::string& id)
{
    core::SandboxRun sandboxRun;
    sandboxRun.id = id;
    sandboxRun.code = "print(1)";
    return sandboxRun;
}

// Callbacks that count how often the run was told it ended.
core::SandboxCallbacks counting(int& exits)
{
    core::SandboxCallbacks callbacks;
    callbacks.onExited = [&exits](const core::UnitOutcome&) { ++exits; };
    return callbacks;
}

TEST(CallFailure, TellsNoBrokerFromNoAnswerFromARefusal)
{
    EXPECT_EQ(callFailure("org.freedesktop.DBus.Error.ServiceUnknown"), CallFailure::brokerAbsent);
    EXPECT_EQ(callFailure("org.freedesktop.DBus.Error.NameHasNoOwner"), CallFailure::brokerAbsent);
    EXPECT_EQ(callFailure("org.freedesktop.DBus.Error.NoReply"), CallFailure::noAnswer);
    EXPECT_EQ(callFailure("org.freedesktop.DBus.Error.Timeout"), CallFailure::noAnswer);
    EXPECT_EQ(callFailure("org.pyrunner.Broker1.Error.InvalidRun"), CallFailure::refused);
    EXPECT_EQ(callFailure("org.freedesktop.DBus.Error.AccessDenied"), CallFailure::refused);
}

TEST(FollowedRuns, SendsAStartTheBrokerDidNotAnswerInTimeAgainIfItNeverTookIt)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    // The broker refused the start after the front stopped waiting for the answer.
    EXPECT_EQ(runs.afterFollow(run, "unknown"), AfterFollow::sendStartAgain);
}

TEST(FollowedRuns, SendsAnUnansweredStartAgainWhenTheNewBrokerDoesNotKnowTheRun)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    EXPECT_EQ(runs.brokerArrived().follow, std::vector<std::string>{run});
    EXPECT_EQ(runs.afterFollow(run, "unknown"), AfterFollow::sendStartAgain);
    EXPECT_EQ(runs.unansweredStart(run).code, "print(1)");
}

TEST(FollowedRuns, CallsARunWhoseStartWasAnsweredVanishedWhenTheNewBrokerDoesNotKnowIt)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    runs.startAnswered(run);
    EXPECT_EQ(runs.afterFollow(run, "unknown"), AfterFollow::vanished);
}

TEST(FollowedRuns, CallsARunAnEarlierFrontStartedVanishedWhenNoBrokerKnowsIt)
{
    FollowedRuns runs;
    int exits = 0;
    runs.follow(run, counting(exits));
    EXPECT_EQ(runs.afterFollow(run, "unknown"), AfterFollow::vanished);
}

TEST(FollowedRuns, WaitsForTheSignalsOfARunTheBrokerFollowsOrHasEnded)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    EXPECT_EQ(runs.afterFollow(run, "following"), AfterFollow::nothing);
    EXPECT_EQ(runs.afterFollow(run, "ended"), AfterFollow::nothing);
}

TEST(FollowedRuns, ReportsIdleWarmUnitsGoneWhenANewBrokerArrivesAndFollowsTheOthers)
{
    FollowedRuns runs;
    int exits = 0;
    runs.prepare(run, counting(exits));
    runs.follow(other, counting(exits));
    const auto arrival = runs.brokerArrived();
    EXPECT_EQ(arrival.warmGone, std::vector<std::string>{run});
    EXPECT_EQ(arrival.follow, std::vector<std::string>{other});
}

TEST(FollowedRuns, FollowsAWarmUnitGivenItsRunAgainAsARun)
{
    FollowedRuns runs;
    int exits = 0;
    runs.prepare(run, counting(exits));
    runs.start(runOf(run), counting(exits));
    const auto arrival = runs.brokerArrived();
    EXPECT_TRUE(arrival.warmGone.empty());
    EXPECT_EQ(arrival.follow, std::vector<std::string>{run});
}

TEST(FollowedRuns, SendsKillsAndReleasesThatFoundNoBrokerToTheNextOneOnceInOrder)
{
    FollowedRuns runs;
    runs.defer(Request::kill, run);
    runs.defer(Request::release, other);
    EXPECT_EQ(runs.brokerArrived().resend, (std::vector<FollowedRuns::Deferred>{
                                               {Request::kill, run}, {Request::release, other}}));
    EXPECT_TRUE(runs.brokerArrived().resend.empty());
}

TEST(FollowedRuns, TellsARunItEndedOnceAndForgetsIt)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    auto callbacks = runs.end(run);
    ASSERT_TRUE(callbacks);
    callbacks->onExited({});
    EXPECT_EQ(exits, 1);
    EXPECT_FALSE(runs.end(run));
    EXPECT_EQ(runs.find(run), nullptr);
    EXPECT_EQ(runs.size(), 0U);
    EXPECT_TRUE(runs.brokerArrived().follow.empty());
}

TEST(FollowedRuns, ForgetsAnEndedRunsUnansweredStartAndIdleWarmUnit)
{
    FollowedRuns runs;
    int exits = 0;
    runs.prepare(run, counting(exits));
    runs.end(run);
    runs.start(runOf(other), counting(exits));
    runs.end(other);
    // Followed again afterwards, neither is taken for a warm unit or a start to resend.
    runs.follow(run, counting(exits));
    runs.follow(other, counting(exits));
    EXPECT_TRUE(runs.brokerArrived().warmGone.empty());
    EXPECT_EQ(runs.afterFollow(other, "unknown"), AfterFollow::vanished);
}

TEST(FollowedRuns, FindsTheCallbacksOfARunFollowed)
{
    FollowedRuns runs;
    int starts = 0;
    core::SandboxCallbacks callbacks;
    callbacks.onStarted = [&starts] { ++starts; };
    runs.follow(run, std::move(callbacks));
    ASSERT_NE(runs.find(run), nullptr);
    runs.find(run)->onStarted();
    EXPECT_EQ(starts, 1);
    EXPECT_EQ(runs.find(other), nullptr);
}

TEST(FollowedRuns, ForgetsEveryRunWithoutEndingAnyWhenTheFrontsConnectionDrops)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    runs.prepare(other, counting(exits));
    runs.forgetAll();
    EXPECT_EQ(exits, 0);
    EXPECT_EQ(runs.size(), 0U);
    const auto arrival = runs.brokerArrived();
    EXPECT_TRUE(arrival.follow.empty());
    EXPECT_TRUE(arrival.warmGone.empty());
}

TEST(FollowedRuns, NamesARunWhoseEndIsOverdueOnceAndNoEarlier)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    const auto start = FollowedRuns::Clock::time_point{} + std::chrono::hours(1);
    runs.expectEnd(run, start + std::chrono::seconds(70));
    EXPECT_EQ(runs.nextDue(), start + std::chrono::seconds(70));
    EXPECT_TRUE(runs.overdue(start + std::chrono::seconds(69)).empty());
    EXPECT_EQ(runs.overdue(start + std::chrono::seconds(70)), std::vector<std::string>{run});
    EXPECT_TRUE(runs.overdue(start + std::chrono::seconds(71)).empty());
    EXPECT_FALSE(runs.nextDue());
}

TEST(FollowedRuns, ExpectsNoEndOfARunThatEndedOrWasNeverFollowed)
{
    FollowedRuns runs;
    int exits = 0;
    const auto by = FollowedRuns::Clock::time_point{} + std::chrono::hours(1);
    runs.expectEnd(other, by);
    runs.start(runOf(run), counting(exits));
    runs.expectEnd(run, by);
    runs.end(run);
    EXPECT_FALSE(runs.nextDue());
    EXPECT_TRUE(runs.overdue(by + std::chrono::hours(1)).empty());
}

TEST(FollowedRuns, ExpectsTheEarliestEndFirst)
{
    FollowedRuns runs;
    int exits = 0;
    runs.start(runOf(run), counting(exits));
    runs.start(runOf(other), counting(exits));
    const auto soon = FollowedRuns::Clock::time_point{} + std::chrono::hours(1);
    runs.expectEnd(run, soon + std::chrono::minutes(2));
    runs.expectEnd(other, soon);
    EXPECT_EQ(runs.nextDue(), soon);
    EXPECT_EQ(runs.overdue(soon), std::vector<std::string>{other});
    EXPECT_EQ(runs.nextDue(), soon + std::chrono::minutes(2));
}

} // namespace
} // namespace pyrunner::systemd
