#include "broker/units/env_build_unit.hpp"

#include <cerrno>
#include <csignal>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t usecPerSec = 1000000;
constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
constexpr std::uint64_t buildTasks = 128;
constexpr std::uint32_t privateMode = 0700;
constexpr const char* requirementsCredential = "requirements.txt";
// Where the build sees the wheel directory, wherever it is on the host (a directory under
// /tmp, which the build's private /tmp would hide, included); inside that private /tmp, so
// the mount point is the build's alone.
constexpr const char* wheelsMountPoint = "/tmp/pyrunner-wheels";

void addSandbox(std::vector<Property>& p, const UnitSettings& settings)
{
    p.push_back({"DynamicUser", true});
    p.push_back({"NoNewPrivileges", true});
    p.push_back({"CapabilityBoundingSet", std::uint64_t{0}});
    p.push_back({"AmbientCapabilities", std::uint64_t{0}});
    p.push_back({"RestrictSUIDSGID", true});
    p.push_back({"ProtectSystem", std::string("strict")});
    p.push_back({"ProtectHome", std::string("yes")});
    p.push_back({"PrivateTmp", true});
    p.push_back({"PrivateDevices", true});
    p.push_back({"PrivateNetwork", true});
    p.push_back({"PrivateIPC", true});
    p.push_back({"InaccessiblePaths", hiddenPaths(settings)});
    if (!settings.environmentsDir.empty())
    {
        p.push_back({"TemporaryFileSystem",
                     std::vector<TemporaryFs>{{settings.environmentsDir, "ro,mode=0755"}}});
    }
    for (const char* name : {"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                             "ProtectControlGroups", "ProtectClock", "ProtectHostname",
                             "LockPersonality", "RestrictRealtime"})
    {
        p.push_back({name, true});
    }
    p.push_back({"ProtectProc", std::string("invisible")});
    p.push_back({"RestrictNamespaces", std::uint64_t{0}});
    p.push_back({"RestrictAddressFamilies", NameFilter{true, {"AF_UNIX"}}});
    p.push_back({"SystemCallArchitectures", StringList{"native"}});
    p.push_back({"SystemCallFilter", NameFilter{true, {"@system-service"}}});
    p.push_back({"SystemCallFilter", NameFilter{false, {"@privileged", "@resources", "@mount"}}});
    p.push_back({"SystemCallErrorNumber", std::int32_t{EPERM}});
}

void addLimits(std::vector<Property>& p, const EnvironmentBuild& build)
{
    p.push_back({"MemoryAccounting", true});
    p.push_back({"TasksAccounting", true});
    p.push_back({"MemoryMax", std::uint64_t{build.memoryMb} * bytesPerMb});
    p.push_back({"MemorySwapMax", std::uint64_t{0}});
    p.push_back({"TasksMax", buildTasks});
    // A oneshot unit is never active: its start job is what a time limit can bound.
    p.push_back({"TimeoutStartUSec", std::uint64_t{build.timeoutS} * usecPerSec});
    p.push_back({"LimitFSIZE", build.maxFileBytes});
    p.push_back({"LimitCORE", std::uint64_t{0}});
}

void addCommands(std::vector<Property>& p, const EnvironmentBuild& build, const std::string& unit)
{
    const auto venv = "/var/lib/" + buildStateDirectory(build.token) + "/venv";
    p.push_back({"LoadCredential",
                 std::vector<CredentialSource>{
                     {requirementsCredential, build.outputDir + "/" + buildRequirementsName}}});
    // pip stays outside the venv: the system's pip installs into it (--python), so the
    // environment holds nothing but the requirements and their dependencies.
    const ExecCommand makeVenv{
        build.python, {build.python, "-I", "-m", "venv", "--without-pip", venv}, {}};
    const ExecCommand install{build.python,
                              {build.python, "-I", "-m", "pip", "--python", venv + "/bin/python",
                               "install", "--no-index", "--find-links", wheelsMountPoint,
                               "--no-cache-dir", "--disable-pip-version-check", "--no-input",
                               "--no-warn-script-location", "--progress-bar", "off", "-r",
                               "/run/credentials/" + unit + "/" + requirementsCredential},
                              {}};
    p.push_back({"BindReadOnlyPaths",
                 std::vector<BindMount>{{build.findLinks, wheelsMountPoint, false, 0}}});
    p.push_back({"ExecStartEx", std::vector<ExecCommand>{makeVenv, install}});
}

} // namespace

std::string buildUnitName(const std::string& token)
{
    return "pyrunner-build-" + token + ".service";
}

std::string buildStateDirectory(const std::string& token)
{
    return "pyrunner-build-" + token;
}

std::string builtVenvPath(const std::string& token)
{
    return "/var/lib/private/" + buildStateDirectory(token) + "/venv";
}

TransientUnit buildEnvironmentUnit(const EnvironmentBuild& build, const UnitSettings& settings)
{
    TransientUnit unit;
    unit.name = buildUnitName(build.token);
    auto& p = unit.properties;
    p.push_back({"Description", "pyrunner environment build " + build.token});
    p.push_back({"Slice", settings.slice});
    p.push_back({"Type", std::string("oneshot")});
    p.push_back({"KillMode", std::string("control-group")});
    p.push_back({"KillSignal", std::int32_t{SIGKILL}});
    p.push_back({"CollectMode", std::string("inactive-or-failed")});
    p.push_back({"AddRef", true});
    addSandbox(p, settings);
    addLimits(p, build);
    p.push_back({"StateDirectory", StringList{buildStateDirectory(build.token)}});
    p.push_back({"StateDirectoryMode", privateMode});
    p.push_back({"WorkingDirectory", std::string("/tmp")});
    p.push_back({"Environment", StringList{"LANG=C.UTF-8", "HOME=/tmp"}});
    p.push_back({"StandardInput", std::string("null")});
    // Both streams into one root-only log, opened by systemd before privileges are dropped.
    p.push_back({"StandardOutputFileToAppend", build.outputDir + "/" + buildLogName});
    p.push_back({"StandardErrorFileToAppend", build.outputDir + "/" + buildLogName});
    addCommands(p, build, unit.name);
    return unit;
}

} // namespace pyrunner::systemd
