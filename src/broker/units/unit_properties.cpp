#include "broker/units/unit_properties.hpp"

#include "broker/units/tenant_slice.hpp"
#include "common/run_files.hpp"
#include "common/run_id.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <sys/socket.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr std::uint64_t usecPerSec = 1000000;
constexpr std::uint64_t bytesPerMb = 1024ULL * 1024ULL;
// CPUQuotaPerSecUSec for 1 % of one CPU.
constexpr std::uint64_t quotaUsecPerPercent = 10000;
// Room for the ExecStopPost helpers, which run under the run's own CPU quota (1 % of a CPU
// at the least): past it systemd would mark a run that ended by itself as timed out. The
// collector bounds itself to collectSeconds of it.
constexpr std::uint64_t stopTimeoutUsec = std::uint64_t{collectSeconds + 10} * usecPerSec;
constexpr std::uint64_t maxOpenFiles = 1024;
constexpr std::uint32_t privateUmask = 0077;

// Kernel interfaces and syscall groups no analytics script needs, denied on top of the
// @system-service allow-list so each one fails with EPERM instead of killing the run.
//
// @privileged and @resources stay denied whole, though some of their calls are harmless on
// the run itself: chown and its kin to its own ids, setuid, setreuid and setresuid that change
// nothing (posix_spawn's POSIX_SPAWN_RESETIDS makes one), nice and setpriority lowering its
// own priority, sched_setaffinity to its own CPUs, SCHED_BATCH and SCHED_IDLE. They fail with
// EPERM, fchown of a bad descriptor too (the kernel's answer is EBADF). systemd-analyze
// security counts a group as allowed once any one of its calls is (badness 9 of 10, weight
// 700 each): one such call takes a run unit from 0.2 to 0.3, one from each group to 0.4
// (tests/integration/test_hardening.py). Were they let through, the kernel would still refuse
// the harmful forms, as it does now for setgid, setregid and setresgid, which are not in
// @privileged and pass:
//  - another owner or group, or a file not the run's: no CAP_CHOWN (CapabilityBoundingSet=0:
//    none, not even through exec); ids other than the run's own and root's are not even
//    mapped in its user namespace (PrivateUsers=), so they fail with EINVAL;
//  - root's or another uid or gid, setgroups of any list: no CAP_SETUID or CAP_SETGID, and
//    the same unmapped ids;
//  - a higher priority (negative nice): RLIMIT_NICE 0 (LimitNICE=) and no CAP_SYS_NICE;
//  - SCHED_FIFO, SCHED_RR, SCHED_DEADLINE: RestrictRealtime=, RLIMIT_RTPRIO 0 (LimitRTPRIO=)
//    and no CAP_SYS_NICE; leaving SCHED_IDLE again likewise;
//  - another run's processes: a different uid (DynamicUser=) and no CAP_SYS_NICE;
//  - CPUs outside the run's cpuset: the kernel cuts the mask down to it (and CPUQuota= bounds
//    the time anyway);
//  - a hard limit raised, the realtime I/O class: no CAP_SYS_RESOURCE, no CAP_SYS_ADMIN.
const std::vector<std::string> deniedSyscalls{
    "@clock",
    "@cpu-emulation",
    "@debug",
    "@module",
    "@mount",
    "@obsolete",
    "@privileged",
    "@raw-io",
    "@reboot",
    "@resources",
    "@swap",
    "bpf",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "userfaultfd",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "kexec_load",
};

// The host's sockets and runtime state that a unit must not reach even though AF_UNIX stays
// allowed (asyncio needs socketpair). A run unit hides all of /run instead (addFilesystem).
const std::vector<std::string> hostRuntimePaths{
    "-/run/dbus",
    "-/run/systemd/journal",
    "-/run/systemd/private",
    "-/run/systemd/notify",
    // Other units' definitions and state, and the dynamic users of other runs.
    "-/run/systemd/transient",
    "-/run/systemd/units",
    "-/run/systemd/userdb",
};

// The cgroup tree names every other run (and so its id, which the API takes as proof of
// ownership); the server reads a run's own cgroup from its stop-post helper instead.
constexpr const char* cgroupTree = "-/sys/fs/cgroup";

// The kernel image, its configuration and symbol map, world-readable on a Debian host (the
// nspawn test machine's /boot is empty; the VM test host's is not): what a kernel exploit
// wants to know first, and nothing Python needs.
constexpr const char* kernelFiles = "-/boot";

// The operator's configuration (pyrunner.toml, and whatever the operator keeps beside it):
// how the server is set up and for whom is none of a unit's business. "-": a host that keeps
// it elsewhere still starts units.
constexpr const char* serverConfig = "-/etc/pyrunner";

// Hidden from every run as an empty tmpfs (addFilesystem).
constexpr std::string_view emptyVar = "/var";
constexpr std::string_view runDir = "/run";
constexpr std::uint32_t privateDirectoryMode = 0700;

// The directories of a run's writable space, and where the run sees each ("": where systemd
// shows it, below the space's path on /run).
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> spacePlaces{{
    {"tmp", "/tmp"},
    // The working directory's out/, empty and the run's own when the script starts.
    {"tmp/out", ""},
    {"var-tmp", "/var/tmp"},
    {"shm", "/dev/shm"},
    {"home", ""},
    {"userdb", userdbMountPoint},
}};

// The server's state directory as InaccessiblePaths= takes it ("-": one this host does not have
// hides nothing).
std::string hiddenState(const UnitSettings& settings)
{
    return "-" + settings.stateDir;
}

void addIdentity(std::vector<Property>& p)
{
    p.push_back({"DynamicUser", true});
    p.push_back({"NoNewPrivileges", true});
    p.push_back({"CapabilityBoundingSet", std::uint64_t{0}});
    p.push_back({"AmbientCapabilities", std::uint64_t{0}});
    p.push_back({"RestrictSUIDSGID", true});
    p.push_back({"PrivateUsers", true});
}

// Whether `path` is beneath the directory `dir` (both absolute, neither ending in "/").
bool isBelow(std::string_view path, std::string_view dir)
{
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// The environments directory as an empty read-only tmpfs, with the run's own environment
// bound back in read-only: other environments are none of the run's business.
void addEnvironment(std::vector<Property>& p, const core::Interpreter& interpreter,
                    const UnitSettings& settings)
{
    if (!interpreter.hiddenPaths.empty())
    {
        // "-": a directory this host does not have hides nothing.
        StringList hidden;
        for (const auto& path : interpreter.hiddenPaths)
        {
            hidden.push_back("-" + path);
        }
        p.push_back({"InaccessiblePaths", hidden});
    }
    if (settings.environmentsDir.empty())
    {
        return;
    }
    // Under /var it is hidden already (addFilesystem), at no further mount.
    if (!isBelow(settings.environmentsDir, emptyVar))
    {
        p.push_back({"TemporaryFileSystem",
                     std::vector<TemporaryFs>{{settings.environmentsDir, "ro,mode=0755"}}});
    }
    if (!interpreter.directory.empty())
    {
        p.push_back({"BindReadOnlyPaths",
                     std::vector<BindMount>{{interpreter.directory, interpreter.directory}}});
    }
}

// The run's directory below UnitSettings::spacesDir, relative to /run as RuntimeDirectory=
// takes it.
std::string spaceRuntimePath(const std::string& id, const UnitSettings& settings)
{
    return std::string(std::string_view(settings.spacesDir).substr(runDir.size() + 1)) + "/" + id;
}

std::string spaceDir(const std::string& id, const UnitSettings& settings)
{
    return settings.spacesDir + "/" + id;
}

// One tmpfs of disk_mb for every place the run can write, so that they are bounded together
// and a script that fills them gets ENOSPC, on a host whose /tmp and /var/tmp are on its disk
// as on one whose root is memory. systemd mounts it (an aux unit of the run's, since only it
// may mount where the run units' bind mounts are made from) before the run's unit starts, and
// unmounts it once that unit is inactive, whatever became of the server meanwhile.
AuxUnit spaceMount(const core::SandboxRun& run, const UnitSettings& settings)
{
    const auto where = spaceDir(run.id, settings);
    AuxUnit mount{mountUnitFor(where), {}};
    auto& p = mount.properties;
    p.push_back({"Description", "pyrunner run " + run.id + " writable space"});
    p.push_back({"What", std::string("tmpfs")});
    p.push_back({"Type", std::string("tmpfs")});
    p.push_back(
        {"Options", "size=" + std::to_string(run.limits.diskMb) + "m,mode=0755,nosuid,nodev"});
    // Nothing of local-fs.target's ordering: it is made for one unit, at run time.
    p.push_back({"DefaultDependencies", false});
    p.push_back({"StopWhenUnneeded", true});
    return mount;
}

// The space's directories, made by systemd for the run's user (so private to it) inside the
// mounted space, and seen by the run where it writes: /tmp (also its working directory),
// /var/tmp and /dev/shm; its home stays where systemd shows a runtime directory, under /run.
void addSpace(TransientUnit& unit, const core::SandboxRun& run, const UnitSettings& settings)
{
    auto& p = unit.properties;
    const auto where = spaceDir(run.id, settings);
    p.push_back({"RequiresMountsFor", StringList{where}});
    const auto relative = spaceRuntimePath(run.id, settings);
    StringList directories;
    std::vector<BindMount> binds;
    for (const auto& [name, seenAt] : spacePlaces)
    {
        directories.push_back(relative + "/" + std::string(name));
        if (!seenAt.empty())
        {
            binds.push_back({where + "/" + std::string(name), std::string(seenAt), false, 0});
        }
    }
    p.push_back({"RuntimeDirectory", directories});
    p.push_back({"RuntimeDirectoryMode", privateDirectoryMode});
    p.push_back({"BindPaths", binds});
    unit.aux.push_back(spaceMount(run, settings));
}

void addFilesystem(std::vector<Property>& p, const UnitSettings& settings)
{
    if (!settings.nsswitch.empty())
    {
        p.push_back({"BindReadOnlyPaths",
                     std::vector<BindMount>{{settings.nsswitch, nsswitchMountPoint, false, 0}}});
    }
    p.push_back({"ProtectSystem", std::string("strict")});
    p.push_back({"ProtectHome", std::string("yes")});
    // DynamicUser= implies it anyway; the space's bind mounts (addSpace) take its place.
    p.push_back({"PrivateTmp", true});
    p.push_back({"PrivateDevices", true});
    p.push_back({"WorkingDirectory", std::string("/tmp")});
    p.push_back({"UMask", privateUmask});
    // The host's /run as an empty read-only tmpfs: no socket of the host's daemons (the bus,
    // systemd's, a database's that lets every local user in) and no runtime file is in
    // reach, whatever the host runs. One mount, where naming each path costs one each in
    // every unit's set-up. (InaccessiblePaths=/run makes systemd 252 fail the unit at exec.)
    // systemd builds it for the privileged stop-post helper too, which so cannot reach the
    // journal's socket.
    p.push_back({"TemporaryFileSystem",
                 std::vector<TemporaryFs>{{"/run", "ro,mode=0755,nosuid,nodev,noexec"}}});
    // The host's variable data likewise: other services' state, logs, mail and sockets
    // (SSSD's, a mail system's). The server's state directory is bound back for the stop-post
    // helper, which writes each run's record there; the run does not get it, since systemd
    // keeps one mount per path, the more restrictive, and the state directory is also in
    // InaccessiblePaths= (tests/hostile: read_state_dir, write_state_dir).
    p.push_back(
        {"TemporaryFileSystem",
         std::vector<TemporaryFs>{{std::string(emptyVar), "ro,mode=0755,nosuid,nodev,noexec"}}});
    if (isBelow(settings.stateDir, emptyVar))
    {
        p.push_back({"BindPaths",
                     std::vector<BindMount>{{settings.stateDir, settings.stateDir, false, 0}}});
    }
    p.push_back({"InaccessiblePaths",
                 StringList{cgroupTree, kernelFiles, serverConfig, hiddenState(settings)}});
}

// The slice of the unit's tenant, whose caps the broker has set (tenantSliceCaps); and the
// tenant's name on what the unit's processes log, so that `journalctl TENANT=<name>` finds it.
void addPlacement(std::vector<Property>& p, const core::SandboxRun& run,
                  const UnitSettings& settings)
{
    p.push_back({"Slice", tenantSlice(settings.slice, run.slice.tenant)});
    if (!run.slice.tenant.empty())
    {
        const auto field = "TENANT=" + run.slice.tenant;
        p.push_back({"LogExtraFields", JournalFieldList{Bytes(field.begin(), field.end())}});
    }
}

void addKernel(std::vector<Property>& p)
{
    for (const char* name : {"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                             "ProtectControlGroups", "ProtectClock", "ProtectHostname",
                             "PrivateNetwork", "PrivateIPC", "LockPersonality", "RestrictRealtime"})
    {
        p.push_back({name, true});
    }
    // ctypes callbacks and numpy were checked to work without W+X mappings.
    p.push_back({"MemoryDenyWriteExecute", true});
    p.push_back({"ProtectProc", std::string("invisible")});
    p.push_back({"ProcSubset", std::string("pid")});
    // Zero allowed namespace types: the run may create none.
    p.push_back({"RestrictNamespaces", std::uint64_t{0}});
    p.push_back({"RestrictAddressFamilies", NameFilter{true, {"AF_UNIX"}}});
    // Enforced where systemd has cgroup-v2 BPF; elsewhere PrivateNetwork= alone holds.
    p.push_back({"IPAddressDeny",
                 std::vector<IpPrefix>{{AF_INET, Bytes(4, 0), 0}, {AF_INET6, Bytes(16, 0), 0}}});
    // PrivateDevices= already gives a minimal /dev; the device cgroup closes the rest.
    p.push_back({"DevicePolicy", std::string("closed")});
    p.push_back({"SystemCallArchitectures", StringList{"native"}});
    p.push_back({"SystemCallFilter", NameFilter{true, {"@system-service"}}});
    p.push_back({"SystemCallFilter", NameFilter{false, deniedSyscalls}});
    p.push_back({"SystemCallErrorNumber", std::int32_t{EPERM}});
    // What the kernel asks before it raises a priority or grants a realtime one to a process
    // without CAP_SYS_NICE: 0 here whatever the host's DefaultLimitNICE= or DefaultLimitRTPRIO=.
    p.push_back({"LimitNICE", std::uint64_t{0}});
    p.push_back({"LimitRTPRIO", std::uint64_t{0}});
}

void addCgroupLimits(std::vector<Property>& p, const core::Limits& limits)
{
    p.push_back({"MemoryMax", std::uint64_t{limits.memoryMb} * bytesPerMb});
    p.push_back({"MemorySwapMax", std::uint64_t{0}});
    p.push_back({"CPUQuotaPerSecUSec", std::uint64_t{limits.cpuPercent} * quotaUsecPerPercent});
    p.push_back({"TasksMax", unitTasksMax(limits.tasks)});
}

// `cgroup` for the whole unit's memory, CPU and tasks; `process` for the rlimits, which a
// warm unit's bootstrap lowers to its run's.
void addLimits(std::vector<Property>& p, const core::Limits& cgroup, const core::Limits& process,
               std::uint64_t runtimeMaxUsec)
{
    p.push_back({"CPUAccounting", true});
    p.push_back({"MemoryAccounting", true});
    p.push_back({"TasksAccounting", true});
    addCgroupLimits(p, cgroup);
    p.push_back({"RuntimeMaxUSec", runtimeMaxUsec});
    // SIGXCPU at the limit; a script that ignores it is killed a second later.
    p.push_back({"LimitCPUSoft", std::uint64_t{process.cpuTimeS}});
    p.push_back({"LimitCPU", std::uint64_t{process.cpuTimeS} + 1});
    p.push_back({"LimitFSIZE", fileSizeLimit(process)});
    p.push_back({"LimitCORE", std::uint64_t{0}});
    p.push_back({"LimitNOFILE", maxOpenFiles});
    // The dynamic user is the run's alone, so its process count is the run's, and the
    // reaper's.
    p.push_back({"LimitNPROC", unitTasksMax(process.tasks)});
}

void addLifecycle(std::vector<Property>& p)
{
    p.push_back({"Type", std::string("exec")});
    p.push_back({"KillMode", std::string("control-group")});
    p.push_back({"KillSignal", std::int32_t{SIGKILL}});
    p.push_back({"SendSIGKILL", true});
    p.push_back({"TimeoutStopUSec", stopTimeoutUsec});
    p.push_back({"OOMPolicy", std::string("kill")});
    // Kept loaded for the server until it lets go, then collected whatever the result.
    p.push_back({"CollectMode", std::string("inactive-or-failed")});
    p.push_back({"AddRef", true});
}

void addInput(std::vector<Property>& p, const core::SandboxRun& run)
{
    // From a root-only file, not StandardInputData=: a unit's properties are readable by
    // every local user in /run/systemd/transient.
    if (run.stdinData.empty())
    {
        p.push_back({"StandardInput", std::string("null")});
    }
    else
    {
        p.push_back({"StandardInputFile", run.outputDir + "/" + core::RunFiles::stdinName});
    }
}

void addOutput(std::vector<Property>& p, const core::SandboxRun& run, const UnitSettings& settings)
{
    // systemd opens these as root before dropping privileges; the run only gets the fds.
    p.push_back({"StandardOutputFileToAppend", run.outputDir + "/stdout"});
    p.push_back({"StandardErrorFileToAppend", run.outputDir + "/stderr"});
    StringList variables{"LANG=C.UTF-8", "HOME=" + runHome(run.id, settings)};
    variables.insert(variables.end(), run.interpreter.variables.begin(),
                     run.interpreter.variables.end());
    p.push_back({"Environment", variables});
}

// The environment's interpreter and flags, then -B (nothing written next to the sources,
// which are read-only anyway) and -u (output reaches the files as it is written). A script the
// run brought among its files has its directory on sys.path, as `python3 dir/main.py` does, so
// that the project's own modules import: -I, which leaves it off, becomes the -E and -s it
// otherwise implies.
StringList pythonArgv(const core::Interpreter& interpreter, const std::string& script,
                      bool scriptDirOnPath = false)
{
    StringList argv{interpreter.python};
    for (const auto& flag : interpreter.flags)
    {
        if (scriptDirOnPath && flag == "-I")
        {
            argv.insert(argv.end(), {"-E", "-s"});
        }
        else
        {
            argv.push_back(flag);
        }
    }
    argv.insert(argv.end(), {"-B", "-u", script});
    return argv;
}

// The host's file `source`, read-only at `mountPoint` on the unit's empty /run: a mount in
// the unit's own namespace, whichever directory (a build tree under /tmp, which PrivateTmp=
// hides, say) the file is in. Not on its private /dev: systemd 252 makes a unit's bind mounts
// for the privileged stop-post helper too, which has the host's /dev, and would leave an empty
// mount point there for each; the helper gets the empty /run as well.
void bindIntoRun(std::vector<Property>& p, const std::string& source, const char* mountPoint)
{
    p.push_back({"BindReadOnlyPaths", std::vector<BindMount>{{source, mountPoint, false, 0}}});
}

// The path a stop-post helper runs from. systemd starts even a privileged helper inside the
// unit's mount namespace, where /tmp is the run's space and /run, /var and the homes are
// empty: a helper installed there (a build tree under /tmp, say) would not be found, and its
// failure ignored. It is bound in then, at `mountPoint` on the unit's /run; from /usr, where
// the packages put it, it costs the unit no mount.
std::string reachableHelper(std::vector<Property>& p, const std::string& path,
                            const char* mountPoint)
{
    for (const std::string_view hidden : {"/tmp", "/var", "/run", "/home", "/root", "/dev"})
    {
        if (isBelow(path, hidden))
        {
            bindIntoRun(p, path, mountPoint);
            return mountPoint;
        }
    }
    return path;
}

void addStopPost(std::vector<Property>& p, const core::SandboxRun& run,
                 const UnitSettings& settings)
{
    // "privileged", the "+" prefix: systemd applies none of the unit's process sandboxing to
    // it, CapabilityBoundingSet= and SystemCallFilter= included, so it may ask the kernel for
    // the BPF programs on the unit's cgroup. DevicePolicy= and IPAddressDeny=, which are on the
    // cgroup, still hold for it.
    // The stop record first: the verdict waits for it when no broker watched the run. Then the
    // collector, as root as well, since it must write into the run's directory; it reads out/
    // only through a child that has become the run's own user, and follows no link.
    const StringList flags{"privileged", "ignore-failure", "no-env-expand"};
    const auto unitStats = reachableHelper(p, settings.unitStatsHelper, unitStatsMountPoint);
    const auto collectFiles =
        reachableHelper(p, settings.collectFilesHelper, collectFilesMountPoint);
    p.push_back(
        {"ExecStopPostEx",
         std::vector<ExecCommand>{
             {unitStats, {unitStats, run.outputDir + "/cgroup-stats"}, flags},
             {collectFiles,
              {collectFiles, "--out", outDirectory, "--into", run.outputDir, "--files-count",
               std::to_string(run.limits.filesCount), "--files-bytes",
               std::to_string(run.limits.filesBytes), "--seconds", std::to_string(collectSeconds)},
              flags}}});
}

// The interpreter's command line `argv`, run by the reaper, whose child it is
// (src/helpers/reaper.cpp).
void addMainCommand(std::vector<Property>& p, const StringList& argv, const UnitSettings& settings)
{
    bindIntoRun(p, settings.reaper, reaperMountPoint);
    StringList reaped{reaperMountPoint};
    reaped.insert(reaped.end(), argv.begin(), argv.end());
    // no-env-expand: the request's arguments reach Python byte for byte, "$" included.
    p.push_back(
        {"ExecStartEx", std::vector<ExecCommand>{{reaperMountPoint, reaped, {"no-env-expand"}}}});
}

// The files the run brings, unpacked into its working directory before the script starts by a
// helper that runs as the run's user inside the whole sandbox, never as root: what it writes
// lands where the run itself could write, whatever the tar holds.
void addFilesIn(std::vector<Property>& p, const core::SandboxRun& run, const UnitSettings& settings)
{
    if (!run.bringsFiles)
    {
        return;
    }
    bindIntoRun(p, settings.unpackFilesHelper, unpackFilesMountPoint);
    bindIntoRun(p, run.outputDir + "/" + core::RunFiles::filesInName, filesInMountPoint);
    p.push_back(
        {"ExecStartPreEx", std::vector<ExecCommand>{{unpackFilesMountPoint,
                                                     {unpackFilesMountPoint, filesInMountPoint},
                                                     {"no-env-expand"}}}});
}

void addCommands(std::vector<Property>& p, const core::SandboxRun& run,
                 const UnitSettings& settings)
{
    StringList argv;
    if (run.entry.empty())
    {
        bindIntoRun(p, run.outputDir + "/" + core::RunFiles::codeName, codeMountPoint);
        argv = pythonArgv(run.interpreter, codeMountPoint);
    }
    else
    {
        argv = pythonArgv(run.interpreter, "/tmp/" + run.entry, true);
    }
    argv.insert(argv.end(), run.args.begin(), run.args.end());
    addFilesIn(p, run, settings);
    addMainCommand(p, argv, settings);
    addStopPost(p, run, settings);
}

void addWarmCommands(std::vector<Property>& p, const core::SandboxRun& prepared,
                     const UnitSettings& settings)
{
    bindIntoRun(p, settings.warmBootstrap, warmBootstrapMountPoint);
    // The run's code file, empty until the handover fills it: where a cold run's script is,
    // so that what opens __main__.__file__ again (multiprocessing's spawn and forkserver,
    // inspect, tracebacks) finds it.
    bindIntoRun(p, prepared.outputDir + "/" + core::RunFiles::codeName, codeMountPoint);
    bindIntoRun(p, prepared.outputDir + "/" + core::RunFiles::readyName, warmReadyMountPoint);
    auto argv = pythonArgv(prepared.interpreter, warmBootstrapMountPoint);
    argv.emplace_back(warmHandoverMountPoint);
    argv.emplace_back(codeMountPoint);
    argv.emplace_back(warmReadyMountPoint);
    argv.insert(argv.end(), prepared.preImports.begin(), prepared.preImports.end());
    addMainCommand(p, argv, settings);
    addStopPost(p, prepared, settings);
}

} // namespace

StringList hiddenPaths(const UnitSettings& settings)
{
    auto hidden = hostRuntimePaths;
    hidden.emplace_back(cgroupTree);
    hidden.emplace_back(kernelFiles);
    hidden.emplace_back(serverConfig);
    hidden.push_back(hiddenState(settings));
    return hidden;
}

TransientUnit buildRunUnit(const core::SandboxRun& run, const UnitSettings& settings)
{
    TransientUnit unit;
    unit.name = core::unitNameFor(run.id);
    auto& p = unit.properties;
    p.push_back({"Description", "pyrunner run " + run.id});
    addPlacement(p, run, settings);
    addLifecycle(p);
    addIdentity(p);
    addFilesystem(p, settings);
    addEnvironment(p, run.interpreter, settings);
    addKernel(p);
    addLimits(p, run.limits, run.limits, std::uint64_t{run.limits.wallTimeS} * usecPerSec);
    addInput(p, run);
    addOutput(p, run, settings);
    addCommands(p, run, settings);
    addSpace(unit, run, settings);
    return unit;
}

TransientUnit buildWarmUnit(const core::SandboxRun& prepared, const core::Limits& ceiling,
                            const UnitSettings& settings, const std::string& handoverFifo)
{
    TransientUnit unit;
    unit.name = core::unitNameFor(prepared.id);
    auto& p = unit.properties;
    p.push_back({"Description", "pyrunner warm run " + prepared.id});
    addPlacement(p, prepared, settings);
    addLifecycle(p);
    addIdentity(p);
    addFilesystem(p, settings);
    addEnvironment(p, prepared.interpreter, settings);
    addKernel(p);
    // The broker ends the run at its own wall limit, counted from handover; this only
    // bounds a unit that waits too long, or one whose broker is gone.
    addLimits(p, prepared.limits, ceiling,
              settings.warmIdleMaxUsec + std::uint64_t{ceiling.wallTimeS} * usecPerSec);
    // A path, not a passed descriptor: the unit's definition must survive a daemon-reload.
    // Not its stdin: systemd opens stdin for every process of the unit, the stop-post helper
    // included, and opening a FIFO waits for a writer, which is gone with the broker.
    p.push_back({"StandardInput", std::string("null")});
    bindIntoRun(p, handoverFifo, warmHandoverMountPoint);
    addOutput(p, prepared, settings);
    addWarmCommands(p, prepared, settings);
    addSpace(unit, prepared, settings);
    return unit;
}

std::vector<Property> sliceCpuCap(unsigned cpus)
{
    constexpr std::uint64_t runsPercentOfEachCpu = 80;
    return {{"CPUQuotaPerSecUSec",
             std::uint64_t{std::max(cpus, 1U)} * runsPercentOfEachCpu * quotaUsecPerPercent}};
}

std::uint64_t fileSizeLimit(const core::Limits& limits)
{
    return std::uint64_t{limits.diskMb} * bytesPerMb;
}

std::uint64_t unitTasksMax(std::uint32_t tasks)
{
    return std::uint64_t{tasks} + 1;
}

std::vector<Property> runCgroupLimits(const core::Limits& limits)
{
    std::vector<Property> p;
    addCgroupLimits(p, limits);
    return p;
}

std::vector<Property> collectionCpuQuota()
{
    constexpr std::uint64_t oneCpu = 100;
    return {{"CPUQuotaPerSecUSec", oneCpu * quotaUsecPerPercent}};
}

std::string mountUnitFor(std::string_view path)
{
    while (path.starts_with('/'))
    {
        path.remove_prefix(1);
    }
    if (path.empty())
    {
        return "-.mount";
    }
    constexpr std::string_view hexDigits = "0123456789abcdef";
    std::string name;
    for (std::size_t i = 0; i < path.size(); ++i)
    {
        const auto c = static_cast<unsigned char>(path[i]);
        if (c == '/')
        {
            name.push_back('-');
        }
        else if (std::isalnum(c) != 0 || c == ':' || c == '_' || (c == '.' && i != 0))
        {
            name.push_back(static_cast<char>(c));
        }
        else
        {
            name += "\\x";
            name.push_back(hexDigits[c >> 4U]);
            name.push_back(hexDigits[c & 0xfU]);
        }
    }
    return name + ".mount";
}

std::string_view runNsswitchConf()
{
    return "passwd: files systemd\n"
           "group: files systemd\n"
           "shadow: files\n"
           "hosts: files\n"
           "networks: files\n"
           "protocols: files\n"
           "services: files\n"
           "ethers: files\n"
           "rpc: files\n"
           "netgroup: files\n";
}

std::string runWorkingDirectory(const std::string& id, const UnitSettings& settings)
{
    return spaceDir(id, settings) + "/tmp";
}

std::string runHome(const std::string& id, const UnitSettings& settings)
{
    return spaceDir(id, settings) + "/home";
}

const PropertyValue* findProperty(const TransientUnit& unit, const std::string& name)
{
    for (const auto& property : unit.properties)
    {
        if (property.name == name)
        {
            return &property.value;
        }
    }
    return nullptr;
}

} // namespace pyrunner::systemd
