#pragma once

#include "common/environment.hpp"
#include "common/limits.hpp"
#include "common/sandbox.hpp"
#include "protocol/broker_errors.hpp"

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <string>
#include <vector>

// The broker's D-Bus interface as both sides use it: its bus name and object, and the
// conversions between the wire's structs and the types the code works with; its error names
// are in broker_errors.hpp. The interface itself is defined once, in org.pyrunner.Broker1.xml
// beside this file, from which the adaptor and the proxy are generated
// (protocol/broker1_adaptor.hpp, protocol/broker1_proxy.hpp), with its members' names.
namespace pyrunner::systemd::broker
{

constexpr const char* serviceName = "org.pyrunner.Broker1";
constexpr const char* objectPath = "/org/pyrunner/Broker1";

// wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks, output_bytes, disk_mb, files_count,
// files_bytes
using WireLimits =
    sdbus::Struct<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t,
                  std::uint64_t, std::uint32_t, std::uint32_t, std::uint64_t>;
// started, error, result, exec code, exec status, start usec, exit usec, cpu nsec; an
// unknown time is 0 and an unknown CPU figure is UINT64_MAX.
using WireOutcome = sdbus::Struct<bool, std::string, std::string, std::int32_t, std::int32_t,
                                  std::uint64_t, std::uint64_t, std::uint64_t>;

// tenant, cpu_percent, memory_mb: the tenant whose slice a unit runs in, and its caps.
using WireSlice = sdbus::Struct<std::string, std::uint32_t, std::uint64_t>;

// name, kind, Python version, packages (name, version), requirements, builds.
using WirePackage = sdbus::Struct<std::string, std::string>;
using WireEnvironment =
    sdbus::Struct<std::string, std::string, std::string, std::vector<WirePackage>,
                  std::vector<std::string>, std::uint32_t>;

WireLimits toWire(const core::Limits& limits);
core::Limits fromWire(const WireLimits& limits);
WireOutcome toWire(const core::UnitOutcome& outcome);
core::UnitOutcome fromWire(const WireOutcome& outcome);
WireSlice toWire(const core::TenantSlice& slice);
core::TenantSlice fromWire(const WireSlice& slice);
WireEnvironment toWire(const core::Environment& environment);
core::Environment fromWire(const WireEnvironment& environment);

} // namespace pyrunner::systemd::broker
