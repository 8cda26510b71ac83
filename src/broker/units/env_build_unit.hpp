#pragma once

#include "broker/units/unit_properties.hpp"

#include <cstdint>
#include <string>

namespace pyrunner::systemd
{

// One build of an environment: a venv made by the system interpreter and filled by pip from
// a requirements file, in a unit of its own, as sandboxed as a run but for its own writable
// state directory. Package install scripts run there, never in the broker.
struct EnvironmentBuild
{
    // Names the unit and its state directory; a run id's shape.
    std::string token;
    // Root-only directory holding the requirements file and taking the installer's log.
    std::string outputDir;
    std::string python = "/usr/bin/python3";
    // Wheels (and sources) pip may install from; pip is given no index, so nothing else.
    std::string findLinks;
    std::uint32_t timeoutS = 600;
    std::uint32_t memoryMb = 2048;
    // Per file written; the whole tree is measured once the build is done.
    std::uint64_t maxFileBytes = std::uint64_t{1} << 30;
};

inline constexpr const char* buildRequirementsName = "requirements.txt";
inline constexpr const char* buildLogName = "stdout";

std::string buildUnitName(const std::string& token);
// The unit's StateDirectory=, relative to /var/lib; under DynamicUser= systemd keeps it in
// /var/lib/private.
std::string buildStateDirectory(const std::string& token);
// Where the finished venv is, seen from outside the unit.
std::string builtVenvPath(const std::string& token);

TransientUnit buildEnvironmentUnit(const EnvironmentBuild& build, const UnitSettings& settings);

} // namespace pyrunner::systemd
