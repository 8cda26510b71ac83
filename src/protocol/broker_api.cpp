#include "protocol/broker_api.hpp"

#include <limits>

namespace pyrunner::systemd::broker
{
namespace
{

constexpr std::uint64_t unknownCpu = std::numeric_limits<std::uint64_t>::max();

std::optional<std::uint64_t> knownTime(std::uint64_t usec)
{
    return usec == 0 ? std::nullopt : std::optional(usec);
}

} // namespace

WireLimits toWire(const core::Limits& limits)
{
    return {limits.wallTimeS,   limits.cpuTimeS, limits.memoryMb,   limits.cpuPercent, limits.tasks,
            limits.outputBytes, limits.diskMb,   limits.filesCount, limits.filesBytes};
}

core::Limits fromWire(const WireLimits& limits)
{
    core::Limits out;
    out.wallTimeS = limits.get<0>();
    out.cpuTimeS = limits.get<1>();
    out.memoryMb = limits.get<2>();
    out.cpuPercent = limits.get<3>();
    out.tasks = limits.get<4>();
    out.outputBytes = limits.get<5>();
    out.diskMb = limits.get<6>();
    out.filesCount = limits.get<7>();
    out.filesBytes = limits.get<8>();
    return out;
}

WireOutcome toWire(const core::UnitOutcome& outcome)
{
    return {outcome.started,
            outcome.error,
            outcome.result,
            outcome.execMainCode,
            outcome.execMainStatus,
            outcome.startMonotonicUsec.value_or(0),
            outcome.exitMonotonicUsec.value_or(0),
            outcome.cpuUsageNsec.value_or(unknownCpu)};
}

core::UnitOutcome fromWire(const WireOutcome& outcome)
{
    core::UnitOutcome out;
    out.started = outcome.get<0>();
    out.error = outcome.get<1>();
    out.result = outcome.get<2>();
    out.execMainCode = outcome.get<3>();
    out.execMainStatus = outcome.get<4>();
    out.startMonotonicUsec = knownTime(outcome.get<5>());
    out.exitMonotonicUsec = knownTime(outcome.get<6>());
    if (outcome.get<7>() != unknownCpu)
    {
        out.cpuUsageNsec = outcome.get<7>();
    }
    return out;
}

WireSlice toWire(const core::TenantSlice& slice)
{
    return {slice.tenant, slice.caps.cpuPercent, slice.caps.memoryMb};
}

core::TenantSlice fromWire(const WireSlice& slice)
{
    return {slice.get<0>(), {slice.get<1>(), slice.get<2>()}};
}

WireEnvironment toWire(const core::Environment& environment)
{
    std::vector<WirePackage> packages;
    packages.reserve(environment.packages.size());
    for (const auto& package : environment.packages)
    {
        packages.emplace_back(package.name, package.version);
    }
    return {environment.name,          std::string(core::toString(environment.kind)),
            environment.pythonVersion, packages,
            environment.requirements,  environment.builds};
}

core::Environment fromWire(const WireEnvironment& environment)
{
    core::Environment out;
    out.name = environment.get<0>();
    out.kind = core::parseEnvironmentKind(environment.get<1>());
    out.pythonVersion = environment.get<2>();
    for (const auto& package : environment.get<3>())
    {
        out.packages.push_back(core::Package{package.get<0>(), package.get<1>()});
    }
    out.requirements = environment.get<4>();
    out.builds = environment.get<5>();
    return out;
}

} // namespace pyrunner::systemd::broker
