#pragma once

#include "core/environment.hpp"
#include "core/limits.hpp"
#include "core/sandbox.hpp"

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <string>
#include <vector>

// The broker's D-Bus interface, shared by the broker and the HTTP front. Only the front's
// user may call it or hear its signals (policy/org.pyrunner.Broker1.conf).
//
//   StartRun(s id, ay code, ay stdin, as args, (uuuuut) limits, s environment,
//            as requirements)
//   KillRun(s id)
//   ReleaseRun(s id)                        forget a finished run's files
//   PrepareRun(s id, s environment)         a warm unit of that environment for the next
//                                           StartRun with this id
//   FollowRun(s id) -> s state              follow a run an earlier broker or front started
//   StrayRuns() -> as ids                   run units loaded that no one follows
//   Layers() -> a{sb}                       the start-up probe's findings
//   Environments() -> a(sssa(ss)asu)        the environments runs may choose
//   CreateEnvironment(s name, s requirements, s find_links) -> s log
//                                           root only: build an operator's environment
//   signal RunStarted(s id)
//   signal RunExited(s id, (bssiittt) outcome)
//   signal EnvironmentsChanged()
namespace pyrunner::systemd::broker
{

constexpr const char* serviceName = "org.pyrunner.Broker1";
constexpr const char* objectPath = "/org/pyrunner/Broker1";
constexpr const char* interfaceName = "org.pyrunner.Broker1";

// wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks, output_bytes
using WireLimits = sdbus::Struct<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t,
                                 std::uint32_t, std::uint64_t>;
// started, error, result, exec code, exec status, start usec, exit usec, cpu nsec; an
// unknown time is 0 and an unknown CPU figure is UINT64_MAX.
using WireOutcome = sdbus::Struct<bool, std::string, std::string, std::int32_t, std::int32_t,
                                  std::uint64_t, std::uint64_t, std::uint64_t>;

// name, kind, Python version, packages (name, version), requirements, builds.
using WirePackage = sdbus::Struct<std::string, std::string>;
using WireEnvironment =
    sdbus::Struct<std::string, std::string, std::string, std::vector<WirePackage>,
                  std::vector<std::string>, std::uint32_t>;

WireLimits toWire(const core::Limits& limits);
core::Limits fromWire(const WireLimits& limits);
WireOutcome toWire(const core::UnitOutcome& outcome);
core::UnitOutcome fromWire(const WireOutcome& outcome);
WireEnvironment toWire(const core::Environment& environment);
core::Environment fromWire(const WireEnvironment& environment);

} // namespace pyrunner::systemd::broker
