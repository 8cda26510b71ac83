#include "broker/sandbox/unit_tracker.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <sys/wait.h>

namespace pyrunner::systemd
{
namespace
{

using Kind = Decision::Kind;

constexpr std::uint64_t startedAtUsec = 1'000'000;
constexpr std::uint64_t exitedAtUsec = 1'004'000;

// What systemd announces of a service that ran its main process to an exit with `status`.
ServiceProperties exited(int status)
{
    ServiceProperties service;
    service.result = status == 0 ? "success" : "exit-code";
    service.execMainCode = CLD_EXITED;
    service.execMainStatus = status;
    service.execMainStartUsec = startedAtUsec;
    service.execMainExitUsec = exitedAtUsec;
    service.mainPid = 0;
    return service;
}

core::CgroupStats figures(std::uint64_t cpuUsageUsec)
{
    core::CgroupStats stats;
    stats.cpuUsageUsec = cpuUsageUsec;
    stats.memoryPeakBytes = 1U << 20U;
    return stats;
}

// A cold unit whose start job is done and whose cgroup is known.
UnitTracker startedUnit()
{
    UnitTracker tracker("pyrunner-x.service");
    tracker.serviceChanged([] {
        ServiceProperties started;
        started.mainPid = 42;
        started.execMainStartUsec = startedAtUsec;
        return started;
    }());
    tracker.jobRemoved("done");
    tracker.learnControlGroup("/pyrunner.slice/pyrunner-x.service");
    return tracker;
}

// A warm unit that took a run at `handedOverUsec`, its cgroup having used `cpuUsageUsec`.
UnitTracker handedOverUnit(std::uint64_t handedOverUsec, std::uint64_t cpuUsageUsec)
{
    auto tracker = UnitTracker::warm("pyrunner-w.service", "default", {});
    tracker.jobRemoved("done");
    tracker.learnControlGroup("/pyrunner.slice/pyrunner-w.service");
    tracker.takeRun({});
    tracker.runHandedOver(handedOverUsec, cpuUsageUsec);
    return tracker;
}

UnitChange subState(const std::string& state)
{
    return {std::nullopt, state};
}

UnitChange activeState(const std::string& state)
{
    return {state, std::nullopt};
}

ReapedRun reapedWith(int waitStatus, bool last = true)
{
    ReapedRun reaped;
    reaped.exit = ProcessExit{waitStatus, 7};
    reaped.last = last;
    reaped.figures = figures(3000);
    reaped.reapedUsec = exitedAtUsec;
    return reaped;
}

// A wait(2) status of a process that exited with `code`, or was killed by `signal`.
int exitStatus(int code)
{
    return (code & 0xff) << 8;
}
int killStatus(int signal)
{
    return signal;
}

TEST(ServiceProperties, AChangeKeepsWhatItDoesNotSay)
{
    auto service = exited(3);
    ServiceProperties changed;
    changed.result = "signal";

    service.update(changed);

    EXPECT_EQ(service.result, "signal");
    EXPECT_EQ(service.execMainStatus, 3);
}

TEST(ServiceProperties, ZeroTimestampsAndUnknownCpuAreNotFigures)
{
    ServiceProperties service;
    service.execMainStartUsec = 0;
    service.cpuUsageNsec = UINT64_MAX;

    const auto outcome = service.outcome();

    EXPECT_TRUE(outcome.started);
    EXPECT_FALSE(outcome.startMonotonicUsec);
    EXPECT_FALSE(outcome.cpuUsageNsec);
}

TEST(UnitTracker, HearsTheStartJobOnce)
{
    UnitTracker tracker("pyrunner-x.service");

    const auto first = tracker.jobRemoved("done");
    const auto second = tracker.jobRemoved("done");

    ASSERT_TRUE(first);
    EXPECT_TRUE(first->started);
    EXPECT_TRUE(first->watchRun);
    EXPECT_FALSE(second);
}

TEST(UnitTracker, IgnoresTheUnitUntilItsStartJobIsDone)
{
    UnitTracker tracker("pyrunner-x.service");

    EXPECT_EQ(tracker.unitChanged(activeState("failed")).kind, Kind::wait);
}

TEST(UnitTracker, AsksForTheFiguresWhenStopPostIsReached)
{
    auto tracker = startedUnit();
    tracker.serviceChanged(exited(3));

    EXPECT_EQ(tracker.unitChanged(subState("stop-post")).kind, Kind::readFigures);
}

TEST(UnitTracker, AnswersWhenStopPostIsReached)
{
    auto tracker = startedUnit();
    tracker.serviceChanged(exited(3));
    tracker.unitChanged(subState("stop-post"));

    const auto decision = tracker.figuresRead(figures(5000));

    ASSERT_EQ(decision.kind, Kind::answer);
    EXPECT_TRUE(tracker.answered());
    EXPECT_EQ(decision.outcome->result, "exit-code");
    EXPECT_EQ(decision.outcome->execMainStatus, 3);
    EXPECT_EQ(decision.outcome->startMonotonicUsec, startedAtUsec);
    EXPECT_EQ(decision.outcome->exitMonotonicUsec, exitedAtUsec);
    EXPECT_EQ(decision.outcome->cgroupStats, figures(5000));
    EXPECT_FALSE(decision.outcome->toldByKernel);
}

TEST(UnitTracker, WaitsAtStopPostUntilTheResultIsKnown)
{
    auto tracker = startedUnit();

    EXPECT_EQ(tracker.unitChanged(subState("stop-post")).kind, Kind::wait);
}

TEST(UnitTracker, WaitsForTheUnitsEndWhenItsCgroupIsGoneAtStopPost)
{
    auto tracker = startedUnit();
    tracker.serviceChanged(exited(0));

    EXPECT_EQ(tracker.figuresRead(std::nullopt).kind, Kind::wait);
    EXPECT_FALSE(tracker.answered());
}

TEST(UnitTracker, ReadsTheEndOfAnInactiveUnitAndFinishes)
{
    auto tracker = startedUnit();

    ASSERT_EQ(tracker.unitChanged(activeState("inactive")).kind, Kind::readEnd);
    const auto decision = tracker.endRead(exited(0).outcome());

    ASSERT_EQ(decision.kind, Kind::finish);
    ASSERT_TRUE(decision.outcome);
    EXPECT_EQ(decision.outcome->result, "success");
}

// What systemd says of a unit it loads anew by the name of one it has collected.
core::UnitOutcome loadedAnew()
{
    auto stub = exited(0).outcome();
    stub.startMonotonicUsec.reset();
    stub.exitMonotonicUsec.reset();
    return stub;
}

TEST(UnitTracker, TakesWhatSystemdAnnouncedOfAUnitItHasCollected)
{
    auto tracker = UnitTracker::followed("pyrunner-f.service", false);
    tracker.serviceChanged(exited(3));

    const auto decision = tracker.endRead(loadedAnew());

    ASSERT_TRUE(decision.outcome);
    EXPECT_TRUE(decision.outcome->started);
    EXPECT_EQ(decision.outcome->result, "exit-code");
    EXPECT_EQ(decision.outcome->execMainStatus, 3);
    EXPECT_EQ(decision.outcome->startMonotonicUsec, startedAtUsec);
}

TEST(UnitTracker, DoesNotTakeAUnitSystemdLoadedAnewForTheRuns)
{
    auto tracker = UnitTracker::followed("pyrunner-f.service", false);

    const auto decision = tracker.endRead(loadedAnew());

    ASSERT_TRUE(decision.outcome);
    EXPECT_FALSE(decision.outcome->started);
    EXPECT_EQ(decision.outcome->error,
              "systemd had forgotten the run's unit by the time it ended.");
}

TEST(UnitTracker, FinishesWithoutASecondAnswer)
{
    auto tracker = startedUnit();
    tracker.serviceChanged(exited(0));
    tracker.figuresRead(figures(1));

    EXPECT_EQ(tracker.figuresRead(figures(2)).kind, Kind::wait);
    EXPECT_EQ(tracker.runReaped(reapedWith(exitStatus(0))).kind, Kind::wait);
    const auto decision = tracker.unitChanged(activeState("failed"));
    EXPECT_EQ(decision.kind, Kind::finish);
    EXPECT_FALSE(decision.outcome);
    EXPECT_FALSE(tracker.lost("gone").outcome);
}

TEST(UnitTracker, ReadsTheActiveStateItWasToldOf)
{
    auto tracker = startedUnit();

    EXPECT_EQ(tracker.activeStateRead("active").kind, Kind::wait);
    EXPECT_EQ(tracker.activeStateRead("failed").kind, Kind::readEnd);
}

TEST(UnitTracker, AnswersFromTheKernelWhenTheInterpreterExitedLast)
{
    auto tracker = startedUnit();

    const auto decision = tracker.runReaped(reapedWith(exitStatus(3)));

    ASSERT_EQ(decision.kind, Kind::answer);
    EXPECT_TRUE(decision.outcome->toldByKernel);
    EXPECT_EQ(decision.outcome->execMainCode, CLD_EXITED);
    EXPECT_EQ(decision.outcome->execMainStatus, 3);
    EXPECT_EQ(decision.outcome->result, "exit-code");
    EXPECT_EQ(decision.outcome->startMonotonicUsec, startedAtUsec);
    EXPECT_EQ(decision.outcome->exitMonotonicUsec, exitedAtUsec);
    EXPECT_EQ(decision.outcome->cgroupStats, figures(3000));
}

TEST(UnitTracker, LeavesAKilledInterpreterToTheUnitsResult)
{
    auto tracker = startedUnit();

    EXPECT_EQ(tracker.runReaped(reapedWith(killStatus(SIGKILL))).kind, Kind::wait);
}

TEST(UnitTracker, WaitsForTheUnitWhileAnotherProcessOfTheRunIsLeft)
{
    auto tracker = startedUnit();

    EXPECT_EQ(tracker.runReaped(reapedWith(exitStatus(0), false)).kind, Kind::wait);
}

TEST(UnitTracker, WaitsForTheUnitWhereTheKernelKeepsNoExitStatus)
{
    auto tracker = startedUnit();
    auto reaped = reapedWith(exitStatus(0));
    reaped.exit.reset();

    EXPECT_EQ(tracker.runReaped(reaped).kind, Kind::wait);
}

TEST(UnitTracker, SaysWhyAStartJobFailed)
{
    UnitTracker tracker("pyrunner-x.service");
    const auto end = tracker.jobRemoved("failed");
    ASSERT_TRUE(end);
    EXPECT_FALSE(end->started);

    const auto decision = tracker.endRead([] {
        auto failed = exited(0).outcome();
        failed.result = "exit-code";
        failed.execMainStatus = 226;
        return failed;
    }());

    ASSERT_TRUE(decision.outcome);
    EXPECT_FALSE(decision.outcome->started);
    EXPECT_EQ(decision.outcome->error, "systemd could not start the run's unit (start job failed, "
                                       "result exit-code, status 226).");
}

TEST(UnitTracker, AFailedStartIsAnErrorWhateverTheBrokerDid)
{
    UnitTracker tracker("pyrunner-x.service");
    tracker.jobRemoved("canceled");
    tracker.timedOut();

    const auto decision = tracker.endRead(exited(0).outcome());

    EXPECT_FALSE(decision.outcome->started);
    EXPECT_EQ(decision.outcome->result, "success");
}

TEST(UnitTracker, ARunTheBrokerEndedAtItsWallLimitTimedOut)
{
    auto tracker = handedOverUnit(startedAtUsec, 0);
    tracker.timedOut();
    tracker.outOfMemory();
    tracker.serviceChanged([] {
        auto killed = exited(0);
        killed.result = "signal";
        killed.execMainCode = CLD_KILLED;
        killed.execMainStatus = SIGKILL;
        return killed;
    }());

    const auto decision = tracker.figuresRead(figures(1));

    EXPECT_EQ(decision.outcome->result, "timeout");
}

TEST(UnitTracker, ARunTheBrokerEndedForItsMemoryRanOutOfIt)
{
    auto tracker = startedUnit();
    tracker.outOfMemory();
    tracker.serviceChanged(exited(0));

    EXPECT_EQ(tracker.figuresRead(figures(1)).outcome->result, "oom-kill");
}

TEST(UnitTracker, AnErrorIsNotMadeAVerdict)
{
    auto tracker = startedUnit();
    tracker.outOfMemory();

    const auto decision = tracker.lost("The server lost its connection to systemd.");

    ASSERT_EQ(decision.kind, Kind::finish);
    EXPECT_EQ(decision.outcome->error, "The server lost its connection to systemd.");
    EXPECT_EQ(decision.outcome->result, "");
}

TEST(UnitTracker, AUnitSystemdRefusedIsAnsweredWithWhy)
{
    UnitTracker tracker("pyrunner-x.service");

    const auto decision = tracker.lost("systemd refused the run's unit: no.");

    ASSERT_EQ(decision.kind, Kind::finish);
    EXPECT_FALSE(decision.outcome->started);
    EXPECT_EQ(decision.outcome->error, "systemd refused the run's unit: no.");
}

TEST(UnitTracker, AWarmUnitIsPreparedUntilItTakesItsRun)
{
    auto tracker = UnitTracker::warm("pyrunner-w.service", "datascience", {});
    tracker.jobRemoved("done");

    EXPECT_TRUE(tracker.prepared());
    EXPECT_EQ(tracker.environment(), "datascience");
    tracker.takeRun({});
    EXPECT_FALSE(tracker.prepared());
}

TEST(UnitTracker, AWarmUnitsRunWaitsForItsStartJob)
{
    auto tracker = UnitTracker::warm("pyrunner-w.service", "default", {});
    core::SandboxRun run;
    run.id = "w";

    EXPECT_EQ(tracker.runArrived(run), UnitTracker::Handover::later);
    const auto end = tracker.jobRemoved("done");

    ASSERT_TRUE(end && end->waitingRun);
    EXPECT_EQ(end->waitingRun->id, "w");
    EXPECT_FALSE(end->watchRun);
    EXPECT_EQ(tracker.runArrived(run), UnitTracker::Handover::now);
}

TEST(UnitTracker, SetsTheLimitsOnlyOfARunThatHasItsOwn)
{
    const std::vector<Property> started{{"MemoryMax", std::uint64_t{256}}};
    auto tracker = UnitTracker::warm("pyrunner-w.service", "default", started);

    EXPECT_FALSE(tracker.takeRun(started));
    EXPECT_TRUE(tracker.takeRun({{"MemoryMax", std::uint64_t{64}}}));
}

TEST(UnitTracker, LeavesAnIdleWarmUnitThatEndsUnanswered)
{
    auto tracker = UnitTracker::warm("pyrunner-w.service", "default", {});
    tracker.jobRemoved("done");
    tracker.learnControlGroup("/pyrunner.slice/pyrunner-w.service");
    tracker.serviceChanged(exited(0));

    EXPECT_EQ(tracker.unitChanged(subState("stop-post")).kind, Kind::wait);
    EXPECT_EQ(tracker.unitChanged(activeState("inactive")).kind, Kind::readEnd);
}

TEST(UnitTracker, AWarmRunStartsAtItsHandover)
{
    constexpr std::uint64_t handedOverAt = 5'000'000;
    auto tracker = handedOverUnit(handedOverAt, 0);
    tracker.serviceChanged(exited(0));

    EXPECT_EQ(tracker.figuresRead(figures(1)).outcome->startMonotonicUsec, handedOverAt);
}

TEST(UnitTracker, AWarmRunsCpuTimeIsItsOwn)
{
    auto tracker = handedOverUnit(startedAtUsec, 70'000);
    auto end = exited(0).outcome();
    end.cpuUsageNsec = 75'000'000;

    const auto decision = tracker.endRead(end);

    EXPECT_EQ(decision.outcome->cpuUsageNsec, 5'000'000U);
}

TEST(UnitTracker, AWarmRunsCgroupCpuTimeIsItsOwnAndTakenFirst)
{
    auto tracker = handedOverUnit(startedAtUsec, 70'000);
    tracker.serviceChanged(exited(0));

    const auto decision = tracker.figuresRead(figures(72'000));

    EXPECT_EQ(decision.outcome->cgroupStats->cpuUsageUsec, 2'000U);
    EXPECT_EQ(decision.outcome->cpuUsageNsec, 2'000'000U);
}

TEST(UnitTracker, AWarmRunsBusyCpuTimeStaysWhole)
{
    auto tracker = handedOverUnit(startedAtUsec, 70'000);

    const auto decision = tracker.runReaped([] {
        auto reaped = reapedWith(exitStatus(0));
        reaped.figures = figures(1'070'000);
        return reaped;
    }());

    EXPECT_EQ(decision.outcome->cpuUsageNsec, 1'000'000'000U);
}

TEST(UnitTracker, AWarmRunsCpuTimeIsNeverBelowNothing)
{
    auto tracker = handedOverUnit(startedAtUsec, 70'000);
    tracker.serviceChanged(exited(0));

    EXPECT_EQ(tracker.figuresRead(figures(69'990)).outcome->cpuUsageNsec, 0U);
}

TEST(UnitTracker, AColdRunsCpuTimeIsAsSystemdSaysIt)
{
    auto tracker = startedUnit();
    auto end = exited(0).outcome();
    end.cpuUsageNsec = 75'000'000;
    end.cgroupStats = figures(75'000);

    const auto decision = tracker.endRead(end);

    EXPECT_EQ(decision.outcome->cpuUsageNsec, 75'000'000U);
    EXPECT_EQ(decision.outcome->cgroupStats->cpuUsageUsec, 75'000U);
}

TEST(UnitTracker, AWarmRunHandedOverWithoutCpuFiguresKeepsSystemds)
{
    auto tracker = UnitTracker::warm("pyrunner-w.service", "default", {});
    tracker.jobRemoved("done");
    tracker.takeRun({});
    tracker.runHandedOver(startedAtUsec, std::nullopt);
    auto end = exited(0).outcome();
    end.cpuUsageNsec = 75'000'000;

    EXPECT_EQ(tracker.endRead(end).outcome->cpuUsageNsec, 75'000'000U);
}

TEST(UnitTracker, AfterAReloadLooksAgainAtAStartedUnit)
{
    const auto after = startedUnit().managerReloaded();

    EXPECT_TRUE(after.readActiveState);
    EXPECT_FALSE(after.lookUp);
    EXPECT_FALSE(after.stop);
}

TEST(UnitTracker, AfterAReloadStopsAnIdleWarmUnitButNotOneWithARunWaiting)
{
    auto idle = UnitTracker::warm("pyrunner-w.service", "default", {});
    auto waiting = UnitTracker::warm("pyrunner-v.service", "default", {});
    waiting.runArrived(core::SandboxRun{});

    EXPECT_TRUE(idle.managerReloaded().stop);
    EXPECT_FALSE(idle.managerReloaded().readActiveState);
    EXPECT_FALSE(waiting.managerReloaded().stop);
}

TEST(UnitTracker, AFollowedUnitIsLookedAtLikeAStartedOne)
{
    auto tracker = UnitTracker::followed("pyrunner-f.service", true);

    EXPECT_FALSE(tracker.prepared());
    EXPECT_TRUE(tracker.managerReloaded().readActiveState);
    EXPECT_FALSE(tracker.jobRemoved("done"));
    EXPECT_EQ(tracker.unitChanged(activeState("inactive")).kind, Kind::readEnd);
}

TEST(UnitTracker, AUnitToLookUpWaitsForTheManagerToBeBack)
{
    auto tracker = UnitTracker::awaitingLookUp("pyrunner-f.service", false);

    EXPECT_EQ(tracker.unitChanged(activeState("inactive")).kind, Kind::wait);
    const auto after = tracker.managerReloaded();
    EXPECT_TRUE(after.lookUp);
    EXPECT_FALSE(after.readActiveState);
    EXPECT_FALSE(after.stop);
}

TEST(UnitTracker, AUnitFoundOnLookUpIsFollowed)
{
    auto tracker = UnitTracker::awaitingLookUp("pyrunner-f.service", false);

    tracker.found();

    EXPECT_FALSE(tracker.managerReloaded().lookUp);
    EXPECT_EQ(tracker.unitChanged(activeState("inactive")).kind, Kind::readEnd);
}

TEST(UnitTracker, AUnitGoneOnLookUpIsAnsweredAsNotStarted)
{
    auto tracker = UnitTracker::awaitingLookUp("pyrunner-f.service", false);

    const auto decision = tracker.lost("The run's unit was gone when systemd came back.");

    ASSERT_EQ(decision.kind, Kind::finish);
    EXPECT_FALSE(decision.outcome->started);
}

TEST(UnitTracker, KnowsTheReaperOnceSystemdNamesIt)
{
    UnitTracker tracker("pyrunner-x.service");
    EXPECT_FALSE(tracker.mainPid());

    EXPECT_EQ(startedUnit().mainPid(), 42);
}

} // namespace
} // namespace pyrunner::systemd
