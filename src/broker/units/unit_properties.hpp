#pragma once

#include "common/sandbox.hpp"

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

// TemporaryFileSystem: a(ss), the path and its mount options.
struct TemporaryFs
{
    std::string path;
    std::string options;

    bool operator==(const TemporaryFs&) const = default;
};

// BindReadOnlyPaths: a(ssbt), source, destination, ignore a missing source, mount flags.
struct BindMount
{
    std::string source;
    std::string destination;
    bool ignoreMissing = false;
    std::uint64_t flags = 0;

    bool operator==(const BindMount&) const = default;
};

using Bytes = std::vector<std::uint8_t>;
using StringList = std::vector<std::string>;
// LogExtraFields: aay, each entry a journal field's "NAME=value".
using JournalFieldList = std::vector<Bytes>;
using PropertyValue = std::variant<bool, std::int32_t, std::uint32_t, std::uint64_t, std::string,
                                   StringList, Bytes, JournalFieldList, std::vector<ExecCommand>,
                                   NameFilter, std::vector<CredentialSource>, std::vector<IpPrefix>,
                                   std::vector<TemporaryFs>, std::vector<BindMount>>;

struct Property
{
    std::string name;
    PropertyValue value;

    bool operator==(const Property&) const = default;
};

struct AuxUnit
{
    std::string name;
    std::vector<Property> properties;
};

struct TransientUnit
{
    std::string name;
    std::vector<Property> properties;
    // Started with it, in the same transaction (StartTransientUnit's aux units).
    std::vector<AuxUnit> aux;
};

// Fixed by the operator, never by a request.
struct UnitSettings
{
    std::string slice = "pyrunner.slice";
    // The privileged ExecStopPost helper that records the cgroup's figures.
    std::string unitStatsHelper;
    // Every unit's main process, the interpreter's parent (reaperMountPoint).
    std::string reaper;
    // The privileged ExecStopPost helper that copies what the run left in out/.
    std::string collectFilesHelper;
    // The ExecStartPre= helper that unpacks the files a run brings, as the run's user.
    std::string unpackFilesHelper;
    // The server's state, hidden from every run: each run's directory, where the stop-post
    // helper writes its record.
    std::string stateDir;
    // The built environments: each run sees its own only.
    std::string environmentsDir;
    // The warm units' bootstrap (warm_bootstrap.hpp), in a directory only root and the front
    // may enter.
    std::string warmBootstrap;
    // Where each run's writable space is mounted, one tmpfs per run named by its id: on the
    // host's /run, where systemd makes the mounts and the run units' bind mounts find them.
    std::string spacesDir = "/run/pyrunner/spaces";
    // The run's name service switch (runNsswitchConf()), in a directory only root and the
    // front may enter.
    std::string nsswitch;
    // How long a warm unit may wait for its run before systemd ends it.
    std::uint64_t warmIdleMaxUsec = std::uint64_t{600} * 1000000;
};

// What an environment build unit may not see: the host's bus and systemd sockets, other
// units' state, the cgroup tree and the operator's own (the server's configuration and state
// directory). Its requirements are a credential, under /run, so it cannot hide all of /run as
// a run unit does.
StringList hiddenPaths(const UnitSettings& settings);

// The whole sandbox of one run, as StartTransientUnit properties.
TransientUnit buildRunUnit(const core::SandboxRun& run, const UnitSettings& settings);

// Where a run sees its code, bound read-only from the run's directory: a mount in the unit's
// own /run (an empty tmpfs), where a credential would also cost a mount in the host's, which
// every unit started meanwhile copies and then reads again and again while it sets up its own.
inline constexpr const char* codeMountPoint = "/run/pyrunner-main.py";
// Where a warm unit sees the bootstrap (UnitSettings::warmBootstrap), likewise.
inline constexpr const char* warmBootstrapMountPoint = "/run/pyrunner-bootstrap.py";
// Where a warm unit sees its handover FIFO; the bootstrap gets it as its argument.
inline constexpr const char* warmHandoverMountPoint = "/run/pyrunner-handover";
// Where a warm unit sees the FIFO it says it is ready through (RunFiles::readyName).
inline constexpr const char* warmReadyMountPoint = "/run/pyrunner-ready";
// Where a run sees UnitSettings::nsswitch.
inline constexpr const char* nsswitchMountPoint = "/etc/nsswitch.conf";
// Where a run sees its space's userdb directory, in which its reaper names the run's user and
// group (nss-systemd reads user records there; see runNsswitchConf()).
inline constexpr const char* userdbMountPoint = "/run/userdb";

// A run's /etc/nsswitch.conf: its users and groups are the host's files and, through
// nss-systemd, the records in userdbMountPoint, where the run's own dynamic user is named:
// the host's systemd, which knows it, is out of the run's reach. Only files otherwise: a
// run has no network, and no business with the host's directory services.
std::string_view runNsswitchConf();

// Where every run unit sees UnitSettings::reaper, its main process: on the unit's own /run,
// whatever directory of the host the reaper is installed in (a build tree under /tmp, which
// PrivateTmp= hides, say).
inline constexpr const char* reaperMountPoint = "/run/pyrunner-reaper";
// Where a run that brings files sees UnitSettings::unpackFilesHelper and the tar of its files
// (RunFiles::filesInName), likewise.
inline constexpr const char* unpackFilesMountPoint = "/run/pyrunner-unpack-files";
inline constexpr const char* filesInMountPoint = "/run/pyrunner-files-in.tar";
// Where a unit sees its stop-post helpers when the host keeps them where the unit cannot see
// (a build tree under /tmp): on its own /run, likewise.
inline constexpr const char* unitStatsMountPoint = "/run/pyrunner-unit-stats";
inline constexpr const char* collectFilesMountPoint = "/run/pyrunner-collect-files";
// The run's out/ directory as the collector finds it in the unit's namespace: its working
// directory's, made by systemd for the run's user.
inline constexpr const char* outDirectory = "/tmp/out";
// How long the collector may take, within the unit's stop timeout.
inline constexpr unsigned collectSeconds = 10;

// A warm unit: the same sandbox, started before its run is known. Python runs the bootstrap,
// which imports the environment's common modules, opens and closes the run directory's ready
// FIFO (bound at warmReadyMountPoint) to say it waits, reads the run from the FIFO
// `handoverFifo` (bound read-only at warmHandoverMountPoint) and runs it. While it waits, its
// cgroup limits are `prepared.limits` (the defaults); at handover they become the run's
// (runCgroupLimits). Its process limits are the `ceiling` any run may get, since they can
// only be lowered once it runs, which the bootstrap does for its run's own. Its wall time
// adds the idle wait to the longest run; the broker times the run itself.
TransientUnit buildWarmUnit(const core::SandboxRun& prepared, const core::Limits& ceiling,
                            const UnitSettings& settings, const std::string& handoverFifo);

// The slice's CPU cap, set by the broker at start as a runtime property: 80 % of the `cpus`
// CPUs for all runs together, so that a fifth is always left to the host and the server. An
// operator's `systemctl set-property` (persistent) takes precedence over it.
std::vector<Property> sliceCpuCap(unsigned cpus);

// A run's RLIMIT_FSIZE (LimitFSIZE=): no file in its writable space can outgrow the space
// anyway; it bounds stdout and stderr, on the server's disk, should the broker not be there
// to end a run whose output passed its cap (OutputWatch). Not the output cap itself, which
// would cap every file the run writes.
std::uint64_t fileSizeLimit(const core::Limits& limits);

// A unit's TasksMax= for a run of `tasks` processes: one more, for its reaper.
std::uint64_t unitTasksMax(std::uint32_t tasks);

// The cgroup limits of a warm unit's run, set when it is handed over (SetUnitProperties).
std::vector<Property> runCgroupLimits(const core::Limits& limits);

// The CPU a stopping run unit gets while its collector copies what the run left, in place of
// the run's own quota: the run's processes are gone by then, and at the run's 1 % copying
// files_bytes would take the collector's whole time bound.
std::vector<Property> collectionCpuQuota();

// The mount unit systemd names for the absolute, normalized `path` (systemd.unit(5), "string
// escaping for inclusion in unit names"; libsystemd has no public call for it).
std::string mountUnitFor(std::string_view path);

// Where a run sees its home: the home directory of its writable space, which systemd binds in
// at the same path it has on the host.
// The run's working directory on the host, in its space: what it sees as /tmp.
std::string runWorkingDirectory(const std::string& id, const UnitSettings& settings);

std::string runHome(const std::string& id, const UnitSettings& settings);

// A property by name, for tests and diagnostics; nullptr if absent.
const PropertyValue* findProperty(const TransientUnit& unit, const std::string& name);

} // namespace pyrunner::systemd
