#pragma once

#include "core/sandbox.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::systemd
{

// One entry of ExecStartEx/ExecStopPostEx: a(sasas).
struct ExecCommand
{
    std::string path;
    std::vector<std::string> argv;
    std::vector<std::string> flags;

    bool operator==(const ExecCommand&) const = default;
};

// SystemCallFilter and RestrictAddressFamilies: (bas), an allow-list or a deny-list.
struct NameFilter
{
    bool allow = true;
    std::vector<std::string> names;

    bool operator==(const NameFilter&) const = default;
};

// LoadCredential: a(ss), the credential's name and the file it is read from.
struct CredentialSource
{
    std::string id;
    std::string path;

    bool operator==(const CredentialSource&) const = default;
};

// IPAddressAllow/IPAddressDeny: a(iayu), address family, address bytes, prefix length.
struct IpPrefix
{
    std::int32_t family = 0;
    std::vector<std::uint8_t> address;
    std::uint32_t prefixLength = 0;

    bool operator==(const IpPrefix&) const = default;
};

using Bytes = std::vector<std::uint8_t>;
using StringList = std::vector<std::string>;
using PropertyValue = std::variant<bool, std::int32_t, std::uint32_t, std::uint64_t, std::string,
                                   StringList, Bytes, std::vector<ExecCommand>, NameFilter,
                                   std::vector<CredentialSource>, std::vector<IpPrefix>>;

struct Property
{
    std::string name;
    PropertyValue value;
};

struct TransientUnit
{
    std::string name;
    std::vector<Property> properties;
};

// Fixed by the operator, never by a request.
struct UnitSettings
{
    std::string python = "/usr/bin/python3";
    std::string slice = "pyrunner.slice";
    // The privileged ExecStopPost helper that records the cgroup's figures.
    std::string unitStatsHelper;
    // Hidden from every run.
    std::vector<std::string> inaccessiblePaths;
};

std::string unitNameFor(const std::string& runId);
// The run id in a run unit's name; nothing for any other unit.
std::optional<std::string> runIdOfUnit(std::string_view unitName);

// The whole sandbox of one run, as StartTransientUnit properties.
TransientUnit buildRunUnit(const core::SandboxRun& run, const UnitSettings& settings);

// A property by name, for tests and diagnostics; nullptr if absent.
const PropertyValue* findProperty(const TransientUnit& unit, const std::string& name);

} // namespace pyrunner::systemd
