#include "broker/units/unit_properties.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sys/socket.h>

namespace pyrunner::systemd
{
namespace
{

core::SandboxRun sampleRun()
{
    core::SandboxRun run;
    run.id = "0123456789abcdef0123456789abcdef";
    run.code = "print('hi')";
    run.args = {"$HOME", "two words"};
    run.limits.wallTimeS = 7;
    run.limits.cpuTimeS = 5;
    run.limits.memoryMb = 100;
    run.limits.cpuPercent = 50;
    run.limits.tasks = 16;
    run.limits.outputBytes = 1000;
    run.limits.diskMb = 64;
    run.outputDir = "/var/lib/pyrunner/runs/0123456789abcdef0123456789abcdef";
    return run;
}

UnitSettings sampleSettings()
{
    UnitSettings settings;
    settings.unitStatsHelper = "/usr/libexec/pyrunner/pyrunner-unit-stats";
    settings.reaper = "/usr/libexec/pyrunner/pyrunner-reaper";
    settings.collectFilesHelper = "/usr/libexec/pyrunner/pyrunner-collect-files";
    settings.unpackFilesHelper = "/usr/libexec/pyrunner/pyrunner-unpack-files";
    settings.stateDir = "/var/lib/pyrunner";
    return settings;
}

template <class T> T get(const TransientUnit& unit, const std::string& name)
{
    const auto* value = findProperty(unit, name);
    if (value == nullptr)
    {
        ADD_FAILURE() << name << " is missing";
        return T{};
    }
    if (!std::holds_alternative<T>(*value))
    {
        ADD_FAILURE() << name << " has the wrong D-Bus type";
        return T{};
    }
    return std::get<T>(*value);
}

// Whether any of the unit's `name` properties, each a list that systemd adds up, has `entry`.
template <class T> bool hasEntry(const TransientUnit& unit, const std::string& name, const T& entry)
{
    return std::any_of(unit.properties.begin(), unit.properties.end(), [&](const Property& p) {
        const auto* entries = std::get_if<std::vector<T>>(&p.value);
        return p.name == name && entries != nullptr &&
               std::find(entries->begin(), entries->end(), entry) != entries->end();
    });
}

bool hasBind(const TransientUnit& unit, const BindMount& bind)
{
    return hasEntry(unit, "BindReadOnlyPaths", bind);
}

bool hasTemporaryFs(const TransientUnit& unit, const TemporaryFs& mount)
{
    return hasEntry(unit, "TemporaryFileSystem", mount);
}

TEST(RunUnit, IsNamedAfterTheRunAndSitsInThePyrunnerSlice)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    EXPECT_EQ(unit.name, "pyrunner-0123456789abcdef0123456789abcdef.service");
    EXPECT_EQ(get<std::string>(unit, "Slice"), "pyrunner.slice");
}

JournalFieldList journalFields(const StringList& fields)
{
    JournalFieldList out;
    for (const auto& field : fields)
    {
        out.emplace_back(field.begin(), field.end());
    }
    return out;
}

TEST(RunUnit, SitsInItsTenantsSliceWithTheTenantOnItsJournalEntries)
{
    auto run = sampleRun();
    run.slice = {"alice", {50, 512}};
    const auto unit = buildRunUnit(run, sampleSettings());
    EXPECT_EQ(get<std::string>(unit, "Slice"), "pyrunner-alice.slice");
    EXPECT_EQ(get<JournalFieldList>(unit, "LogExtraFields"), journalFields({"TENANT=alice"}));
}

TEST(RunUnit, OfNoTenantSitsInTheBaseSliceWithNoTenantField)
{
    auto settings = sampleSettings();
    settings.slice = "runs.slice";
    const auto unit = buildRunUnit(sampleRun(), settings);
    EXPECT_EQ(get<std::string>(unit, "Slice"), "runs.slice");
    EXPECT_EQ(findProperty(unit, "LogExtraFields"), nullptr);
}

TEST(WarmUnit, SitsInTheSliceOfTheTenantItWasPreparedFor)
{
    auto prepared = sampleRun();
    prepared.slice.tenant = "bob";
    auto settings = sampleSettings();
    settings.warmBootstrap = "/var/lib/pyrunner/warm-bootstrap.py";
    const auto unit = buildWarmUnit(prepared, prepared.limits, settings, "/runs/x/handover");
    EXPECT_EQ(get<std::string>(unit, "Slice"), "pyrunner-bob.slice");
    EXPECT_EQ(get<JournalFieldList>(unit, "LogExtraFields"), journalFields({"TENANT=bob"}));
}

TEST(RunUnit, TurnsOnTheRequiredSandboxing)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    for (const char* name :
         {"DynamicUser", "PrivateNetwork", "PrivateTmp", "NoNewPrivileges", "PrivateDevices",
          "ProtectKernelTunables", "RestrictSUIDSGID", "MemoryDenyWriteExecute"})
    {
        EXPECT_TRUE(get<bool>(unit, name)) << name;
    }
    EXPECT_EQ(get<std::string>(unit, "ProtectSystem"), "strict");
    EXPECT_EQ(get<std::string>(unit, "ProtectHome"), "yes");
    EXPECT_EQ(get<std::uint64_t>(unit, "CapabilityBoundingSet"), 0U);
    EXPECT_EQ(get<std::uint64_t>(unit, "RestrictNamespaces"), 0U);
    EXPECT_EQ(get<std::string>(unit, "WorkingDirectory"), "/tmp");
    EXPECT_EQ(get<std::uint32_t>(unit, "UMask"), 0077U);
}

TEST(RunUnit, MapsEveryLimitToItsProperty)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    EXPECT_EQ(get<std::uint64_t>(unit, "MemoryMax"), 100U * 1024U * 1024U);
    EXPECT_EQ(get<std::uint64_t>(unit, "MemorySwapMax"), 0U);
    EXPECT_EQ(get<std::uint64_t>(unit, "CPUQuotaPerSecUSec"), 500000U);
    // One more than the run's 16, for the reaper.
    EXPECT_EQ(get<std::uint64_t>(unit, "TasksMax"), 17U);
    EXPECT_EQ(get<std::uint64_t>(unit, "RuntimeMaxUSec"), 7000000U);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitCPUSoft"), 5U);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitCPU"), 6U);
    // The writable space bounds every file; stdout and stderr, on the server's disk, too.
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitFSIZE"), 64U * 1024U * 1024U);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitCORE"), 0U);
}

std::vector<NameFilter> syscallFilters(const TransientUnit& unit)
{
    std::vector<NameFilter> filters;
    for (const auto& p : unit.properties)
    {
        if (p.name == "SystemCallFilter")
        {
            filters.push_back(std::get<NameFilter>(p.value));
        }
    }
    return filters;
}

bool hasName(const NameFilter& filter, const std::string& name)
{
    return std::find(filter.names.begin(), filter.names.end(), name) != filter.names.end();
}

TransientUnit sampleWarmUnit()
{
    auto settings = sampleSettings();
    settings.warmBootstrap = "/var/lib/pyrunner/warm-bootstrap.py";
    return buildWarmUnit(sampleRun(), sampleRun().limits, settings, "/runs/x/handover");
}

TEST(RunUnit, AllowsSystemServiceCallsAndDeniesPrivilegedOnes)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto filters = syscallFilters(unit);
    ASSERT_EQ(filters.size(), 2U);
    EXPECT_EQ(filters[0], (NameFilter{true, {"@system-service"}}));
    EXPECT_FALSE(filters[1].allow);
    for (const char* denied :
         {"@privileged", "@resources", "@mount", "bpf", "ptrace", "io_uring_setup"})
    {
        EXPECT_TRUE(hasName(filters[1], denied)) << denied;
    }
}

// systemd-analyze security rates @privileged and @resources by whether every one of their
// calls is denied: allowing even the harmless ones (chown to oneself, nice(1)) by name would
// cost the run unit its score of 0.2. The kernel layers that refuse their harmful forms are
// set all the same.
TEST(RunAndWarmUnits, DenyPrivilegedAndResourcesWholeOnTopOfTheKernelsOwnRefusals)
{
    for (const auto& unit : {buildRunUnit(sampleRun(), sampleSettings()), sampleWarmUnit()})
    {
        const auto filters = syscallFilters(unit);
        ASSERT_FALSE(filters.empty()) << unit.name;
        EXPECT_FALSE(filters.back().allow) << unit.name;
        EXPECT_TRUE(hasName(filters.back(), "@privileged")) << unit.name;
        EXPECT_TRUE(hasName(filters.back(), "@resources")) << unit.name;
        for (const char* call : {"chown", "fchown", "setuid", "setresuid", "setgroups", "nice",
                                 "setpriority", "sched_setaffinity", "sched_setscheduler"})
        {
            EXPECT_TRUE(
                std::none_of(filters.begin(), filters.end(),
                             [&](const NameFilter& f) { return f.allow && hasName(f, call); }))
                << unit.name << " allows " << call;
        }
        EXPECT_EQ(get<std::uint64_t>(unit, "CapabilityBoundingSet"), 0U);
        for (const char* name :
             {"NoNewPrivileges", "PrivateUsers", "DynamicUser", "RestrictRealtime"})
        {
            EXPECT_TRUE(get<bool>(unit, name)) << unit.name << " " << name;
        }
        EXPECT_EQ(get<std::uint64_t>(unit, "LimitNICE"), 0U);
        EXPECT_EQ(get<std::uint64_t>(unit, "LimitRTPRIO"), 0U);
    }
}

TEST(RunUnit, BindsTheCodeInReadOnlyAndRunsItIsolated)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    // No credential: that would be a mount in the host's namespace for every run.
    EXPECT_EQ(findProperty(unit, "LoadCredential"), nullptr);
    EXPECT_EQ(findProperty(unit, "SetCredential"), nullptr);
    EXPECT_TRUE(hasBind(unit, {sampleRun().outputDir + "/main.py", codeMountPoint, false, 0}));
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 1U);
    EXPECT_EQ(exec[0].path, reaperMountPoint);
    EXPECT_EQ(exec[0].argv, (StringList{reaperMountPoint, "/usr/bin/python3", "-I", "-B", "-u",
                                        codeMountPoint, "$HOME", "two words"}));
}

TEST(RunUnit, HidesWhatTheEnvironmentMustNotSee)
{
    auto run = sampleRun();
    run.interpreter = core::shippedEnvironments("/usr/bin/python3").front().interpreter;
    StringList hidden;
    for (const auto& property : buildRunUnit(run, sampleSettings()).properties)
    {
        if (property.name == "InaccessiblePaths")
        {
            const auto& paths = std::get<StringList>(property.value);
            hidden.insert(hidden.end(), paths.begin(), paths.end());
        }
    }
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "-/usr/lib/python3/dist-packages"),
              hidden.end());
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "-/usr/local/lib"), hidden.end());
}

TEST(RunUnit, StartsTheEnvironmentsInterpreterWithItsVariables)
{
    auto run = sampleRun();
    run.interpreter =
        core::venvEnvironment("tools", core::EnvironmentKind::Operator, "/envs/tools").interpreter;
    run.interpreter.variables = {"MPLBACKEND=Agg"};
    const auto unit = buildRunUnit(run, sampleSettings());
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 1U);
    EXPECT_EQ(exec[0].argv[1], "/envs/tools/bin/python");
    EXPECT_EQ(exec[0].argv[2], "-I");
    EXPECT_EQ(exec[0].argv[3], "-B");
    EXPECT_EQ(get<StringList>(unit, "Environment"),
              (StringList{"LANG=C.UTF-8",
                          "HOME=/run/pyrunner/spaces/0123456789abcdef0123456789abcdef/home",
                          "MPLBACKEND=Agg"}));
}

TEST(RunUnit, PassesArgumentsWithoutEnvironmentExpansion)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 1U);
    EXPECT_EQ(exec[0].flags, StringList{"no-env-expand"});
}

TEST(RunUnit, WritesOutputToTheRunsOwnFiles)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto& dir = sampleRun().outputDir;
    EXPECT_EQ(get<std::string>(unit, "StandardOutputFileToAppend"), dir + "/stdout");
    EXPECT_EQ(get<std::string>(unit, "StandardErrorFileToAppend"), dir + "/stderr");
}

TEST(RunUnit, RecordsCgroupFiguresWithAPrivilegedStopPostHelper)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto stopPost = get<std::vector<ExecCommand>>(unit, "ExecStopPostEx");
    ASSERT_EQ(stopPost.size(), 2U);
    EXPECT_EQ(stopPost[0].path, "/usr/libexec/pyrunner/pyrunner-unit-stats");
    EXPECT_EQ(stopPost[0].argv.back(), sampleRun().outputDir + "/cgroup-stats");
    EXPECT_NE(std::find(stopPost[0].flags.begin(), stopPost[0].flags.end(), "privileged"),
              stopPost[0].flags.end());
}

TEST(RunUnit, CollectsOutAfterTheStopRecordWithTheRunsCaps)
{
    auto run = sampleRun();
    run.limits.filesCount = 7;
    run.limits.filesBytes = 4096;
    const auto unit = buildRunUnit(run, sampleSettings());
    const auto stopPost = get<std::vector<ExecCommand>>(unit, "ExecStopPostEx");
    ASSERT_EQ(stopPost.size(), 2U);
    EXPECT_EQ(stopPost[1].path, "/usr/libexec/pyrunner/pyrunner-collect-files");
    EXPECT_EQ(stopPost[1].argv,
              (StringList{"/usr/libexec/pyrunner/pyrunner-collect-files", "--out", "/tmp/out",
                          "--into", run.outputDir, "--files-count", "7", "--files-bytes", "4096",
                          "--seconds", std::to_string(collectSeconds)}));
    EXPECT_NE(std::find(stopPost[1].flags.begin(), stopPost[1].flags.end(), "privileged"),
              stopPost[1].flags.end());
}

TEST(RunUnit, BindsInAStopPostHelperTheUnitCouldNotSeeWhereItIs)
{
    const auto installed = buildRunUnit(sampleRun(), sampleSettings());
    const auto stopPost = get<std::vector<ExecCommand>>(installed, "ExecStopPostEx");
    EXPECT_EQ(stopPost[1].path, "/usr/libexec/pyrunner/pyrunner-collect-files");

    auto settings = sampleSettings();
    settings.unitStatsHelper = "/tmp/build/pyrunner-unit-stats";
    settings.collectFilesHelper = "/tmp/build/pyrunner-collect-files";
    const auto unit = buildRunUnit(sampleRun(), settings);
    const auto bound = get<std::vector<ExecCommand>>(unit, "ExecStopPostEx");
    EXPECT_EQ(bound[0].path, unitStatsMountPoint);
    EXPECT_EQ(bound[0].argv.front(), unitStatsMountPoint);
    EXPECT_EQ(bound[1].path, collectFilesMountPoint);
    std::vector<std::string> sources;
    for (const auto& property : unit.properties)
    {
        if (property.name == "BindReadOnlyPaths")
        {
            for (const auto& mount : std::get<std::vector<BindMount>>(property.value))
            {
                sources.push_back(mount.source);
            }
        }
    }
    EXPECT_NE(std::find(sources.begin(), sources.end(), settings.collectFilesHelper),
              sources.end());
    EXPECT_NE(std::find(sources.begin(), sources.end(), settings.unitStatsHelper), sources.end());
}

TEST(RunUnit, UnpacksTheFilesItBringsAsTheRunsUserBeforeTheScript)
{
    auto run = sampleRun();
    EXPECT_EQ(findProperty(buildRunUnit(run, sampleSettings()), "ExecStartPreEx"), nullptr);
    run.bringsFiles = true;
    const auto unit = buildRunUnit(run, sampleSettings());
    const auto pre = get<std::vector<ExecCommand>>(unit, "ExecStartPreEx");
    ASSERT_EQ(pre.size(), 1U);
    EXPECT_EQ(pre[0].argv, (StringList{unpackFilesMountPoint, filesInMountPoint}));
    // Not "privileged": the unit's user and sandbox apply.
    EXPECT_EQ(pre[0].flags, StringList{"no-env-expand"});
}

TEST(RunUnit, AnEntryRunsFromTheWorkingDirectoryWithItsDirectoryOnThePath)
{
    auto run = sampleRun();
    run.code.clear();
    run.entry = "app/main.py";
    run.bringsFiles = true;
    const auto unit = buildRunUnit(run, sampleSettings());
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 1U);
    const auto& argv = exec[0].argv;
    EXPECT_NE(std::find(argv.begin(), argv.end(), "/tmp/app/main.py"), argv.end());
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "-I"), argv.end());
    EXPECT_NE(std::find(argv.begin(), argv.end(), "-s"), argv.end());
    EXPECT_NE(std::find(argv.begin(), argv.end(), "-E"), argv.end());
}

TEST(RunUnit, StdinIsNullWhenEmptyAndARootOnlyFileOtherwise)
{
    auto run = sampleRun();
    EXPECT_EQ(get<std::string>(buildRunUnit(run, sampleSettings()), "StandardInput"), "null");
    EXPECT_EQ(findProperty(buildRunUnit(run, sampleSettings()), "StandardInputData"), nullptr);
    run.stdinData = std::string("a\0b", 3);
    const auto unit = buildRunUnit(run, sampleSettings());
    EXPECT_EQ(get<std::string>(unit, "StandardInputFile"), run.outputDir + "/stdin");
    EXPECT_EQ(findProperty(unit, "StandardInputData"), nullptr);
}

TEST(RunUnit, HidesTheServersStateTheCgroupTreeTheKernelFilesAndAllOfTheHostsRunAndVar)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto paths = get<StringList>(unit, "InaccessiblePaths");
    for (const char* hidden : {"-/var/lib/pyrunner", "-/sys/fs/cgroup", "-/boot"})
    {
        EXPECT_NE(std::find(paths.begin(), paths.end(), hidden), paths.end()) << hidden;
    }
    // Every socket, runtime file and service's state of the host, not a list of the ones
    // known today.
    EXPECT_TRUE(hasTemporaryFs(unit, {"/run", "ro,mode=0755,nosuid,nodev,noexec"}));
    EXPECT_TRUE(hasTemporaryFs(unit, {"/var", "ro,mode=0755,nosuid,nodev,noexec"}));
}

// Everything of the server's own that a unit could list or read: its configuration, its state
// directory (every run's files, the store) and the environments, of which a run gets only its
// own, bound back read-only at the same path.
void expectServerSecretsHidden(const TransientUnit& unit, const std::string& environment)
{
    const auto paths = get<StringList>(unit, "InaccessiblePaths");
    for (const char* hidden : {"-/etc/pyrunner", "-/var/lib/pyrunner"})
    {
        EXPECT_NE(std::find(paths.begin(), paths.end(), hidden), paths.end()) << hidden;
    }
    // /var/lib/pyrunner-environments and every other state directory lie under it.
    EXPECT_TRUE(hasTemporaryFs(unit, {"/var", "ro,mode=0755,nosuid,nodev,noexec"}));
    EXPECT_TRUE(hasBind(unit, {environment, environment, false, 0}));
    // Nothing else of /var comes back, but the state directory the stop-post helper writes to,
    // which InaccessiblePaths= above keeps from the run.
    for (const auto& property : unit.properties)
    {
        if (property.name != "BindReadOnlyPaths" && property.name != "BindPaths")
        {
            continue;
        }
        for (const auto& bind : std::get<std::vector<BindMount>>(property.value))
        {
            if (bind.destination.starts_with("/var/") && bind.destination != "/var/tmp")
            {
                EXPECT_TRUE(bind.destination == environment ||
                            bind.destination == "/var/lib/pyrunner")
                    << bind.destination;
            }
            EXPECT_FALSE(bind.destination.starts_with("/etc/pyrunner")) << bind.destination;
        }
    }
}

TEST(RunUnit, HidesTheServersConfigurationStateAndOtherEnvironments)
{
    auto settings = sampleSettings();
    settings.environmentsDir = "/var/lib/pyrunner-environments";
    settings.nsswitch = "/var/lib/pyrunner/nsswitch.conf";
    auto run = sampleRun();
    const std::string tools = "/var/lib/pyrunner-environments/tools";
    run.interpreter =
        core::venvEnvironment("tools", core::EnvironmentKind::Operator, tools).interpreter;
    expectServerSecretsHidden(buildRunUnit(run, settings), tools);
    settings.warmBootstrap = "/var/lib/pyrunner/warm-bootstrap.py";
    expectServerSecretsHidden(buildWarmUnit(run, run.limits, settings, "/runs/x/handover"), tools);
}

TEST(RunUnit, BindsTheStateDirectoryBackUnderVarForTheStopPostHelperOnly)
{
    auto settings = sampleSettings();
    const BindMount state{"/var/lib/pyrunner", "/var/lib/pyrunner", false, 0};
    EXPECT_TRUE(hasEntry(buildRunUnit(sampleRun(), settings), "BindPaths", state));
    // Elsewhere the helper has it anyway.
    settings.stateDir = "/srv/pyrunner";
    const BindMount elsewhere{"/srv/pyrunner", "/srv/pyrunner", false, 0};
    EXPECT_FALSE(hasEntry(buildRunUnit(sampleRun(), settings), "BindPaths", elsewhere));
}

TEST(RunUnit, WritesOnlyToOneSpaceOfDiskMbThatSystemdMountsForIt)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const std::string space = "/run/pyrunner/spaces/0123456789abcdef0123456789abcdef";
    ASSERT_EQ(unit.aux.size(), 1U);
    const auto& mount = unit.aux[0];
    EXPECT_EQ(mount.name, "run-pyrunner-spaces-0123456789abcdef0123456789abcdef.mount");
    const TransientUnit mountUnit{mount.name, mount.properties, {}};
    EXPECT_EQ(get<std::string>(mountUnit, "Type"), "tmpfs");
    EXPECT_EQ(get<std::string>(mountUnit, "Options"), "size=64m,mode=0755,nosuid,nodev");
    // Unmounted by systemd once the run's unit is inactive, whatever became of the server.
    EXPECT_TRUE(get<bool>(mountUnit, "StopWhenUnneeded"));
    EXPECT_EQ(get<StringList>(unit, "RequiresMountsFor"), StringList{space});
    const auto relative = space.substr(std::string("/run/").size());
    EXPECT_EQ(get<StringList>(unit, "RuntimeDirectory"),
              (StringList{relative + "/tmp", relative + "/tmp/out", relative + "/var-tmp",
                          relative + "/shm", relative + "/home", relative + "/userdb"}));
    EXPECT_EQ(get<std::uint32_t>(unit, "RuntimeDirectoryMode"), 0700U);
    for (const auto& [from, to] :
         {std::pair{"/tmp", "/tmp"}, std::pair{"/var-tmp", "/var/tmp"},
          std::pair{"/shm", "/dev/shm"}, std::pair{"/userdb", "/run/userdb"}})
    {
        EXPECT_TRUE(hasEntry(unit, "BindPaths", BindMount{space + from, to, false, 0})) << to;
    }
    // No tmpfs of the unit's own where the space is seen.
    EXPECT_FALSE(hasTemporaryFs(unit, {"/dev/shm", "mode=1777,nosuid,nodev,noexec"}));
}

TEST(MountUnitName, EscapesAPathAsSystemdDoes)
{
    EXPECT_EQ(mountUnitFor("/run/pyrunner/spaces/ab12"), "run-pyrunner-spaces-ab12.mount");
    EXPECT_EQ(mountUnitFor("/srv/py-runner/.x y"), "srv-py\\x2drunner-.x\\x20y.mount");
    EXPECT_EQ(mountUnitFor("/.hidden"), "\\x2ehidden.mount");
    EXPECT_EQ(mountUnitFor("/"), "-.mount");
}

TEST(RunUnit, HidesTheEnvironmentsDirectoryWithATmpfsOnlyOutsideVar)
{
    auto settings = sampleSettings();
    settings.environmentsDir = "/var/lib/pyrunner-environments";
    EXPECT_FALSE(hasTemporaryFs(buildRunUnit(sampleRun(), settings),
                                {"/var/lib/pyrunner-environments", "ro,mode=0755"}));
    settings.environmentsDir = "/srv/environments";
    EXPECT_TRUE(
        hasTemporaryFs(buildRunUnit(sampleRun(), settings), {"/srv/environments", "ro,mode=0755"}));
}

TEST(RunUnit, DeniesEveryIpAddressAndClosesDevices)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    const auto denied = get<std::vector<IpPrefix>>(unit, "IPAddressDeny");
    ASSERT_EQ(denied.size(), 2U);
    EXPECT_EQ(denied[0], (IpPrefix{AF_INET, Bytes(4, 0), 0}));
    EXPECT_EQ(denied[1], (IpPrefix{AF_INET6, Bytes(16, 0), 0}));
    EXPECT_EQ(get<std::string>(unit, "DevicePolicy"), "closed");
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitNPROC"), 17U);
}

TEST(RunUnit, RunsTheInterpreterUnderTheReaperBoundIntoItsDev)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    EXPECT_TRUE(hasBind(unit, {sampleSettings().reaper, reaperMountPoint, false, 0}));
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 1U);
    EXPECT_EQ(exec[0].argv.at(0), reaperMountPoint);
}

TEST(RunUnit, StaysLoadedForTheServerUntilReleased)
{
    const auto unit = buildRunUnit(sampleRun(), sampleSettings());
    EXPECT_TRUE(get<bool>(unit, "AddRef"));
    EXPECT_EQ(get<std::string>(unit, "CollectMode"), "inactive-or-failed");
    EXPECT_EQ(get<std::string>(unit, "Type"), "exec");
}

TEST(WarmUnit, WaitsUnderTheDefaultsWithProcessLimitsAtTheCeiling)
{
    auto settings = sampleSettings();
    settings.warmBootstrap = "/var/lib/pyrunner/warm-bootstrap.py";
    settings.warmIdleMaxUsec = 600000000;
    auto ceiling = sampleRun().limits;
    ceiling.cpuTimeS = 60;
    ceiling.wallTimeS = 60;
    ceiling.outputBytes = 5000;
    ceiling.diskMb = 4096;
    const auto unit = buildWarmUnit(sampleRun(), ceiling, settings, "/runs/x/handover");
    EXPECT_EQ(get<std::uint64_t>(unit, "MemoryMax"), 100ULL * 1024 * 1024);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitCPU"), 61U);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitFSIZE"), 4096ULL * 1024 * 1024);
    EXPECT_EQ(get<std::uint64_t>(unit, "RuntimeMaxUSec"), 660000000U);
    // Not stdin: the stop-post helper would open it too and wait for a writer.
    EXPECT_EQ(get<std::string>(unit, "StandardInput"), "null");
    EXPECT_TRUE(hasBind(unit, {"/runs/x/handover", warmHandoverMountPoint, false, 0}));
    EXPECT_TRUE(hasBind(unit, {settings.warmBootstrap, warmBootstrapMountPoint, false, 0}));
    // Where a cold run has its script, filled at the handover.
    EXPECT_TRUE(hasBind(unit, {sampleRun().outputDir + "/main.py", codeMountPoint, false, 0}));
    EXPECT_TRUE(hasBind(unit, {sampleRun().outputDir + "/ready", warmReadyMountPoint, false, 0}));
    EXPECT_EQ(findProperty(unit, "LoadCredential"), nullptr);
    // The run's arguments travel in the handover, never on a command line.
    const auto start = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(start.size(), 1U);
    EXPECT_EQ(std::count(start[0].argv.begin(), start[0].argv.end(), "$HOME"), 0);
    ASSERT_GE(start[0].argv.size(), 3U);
    EXPECT_EQ(
        (std::vector<std::string>(start[0].argv.end() - 3, start[0].argv.end())),
        (std::vector<std::string>{warmHandoverMountPoint, codeMountPoint, warmReadyMountPoint}));
}

TEST(SliceCpuCap, LeavesAFifthOfEveryCpuToTheRest)
{
    const auto cap = sliceCpuCap(2);
    ASSERT_EQ(cap.size(), 1U);
    EXPECT_EQ(cap[0].name, "CPUQuotaPerSecUSec");
    EXPECT_EQ(std::get<std::uint64_t>(cap[0].value), 1600000U);
    EXPECT_EQ(std::get<std::uint64_t>(sliceCpuCap(0).front().value), 800000U);
}

TEST(WarmUnit, NamesTheEnvironmentsModulesAfterTheHandoverScriptAndReadyPaths)
{
    auto prepared = sampleRun();
    prepared.preImports = {"numpy", "matplotlib.pyplot"};
    const auto unit =
        buildWarmUnit(prepared, sampleRun().limits, sampleSettings(), "/runs/x/handover");
    const auto argv = get<std::vector<ExecCommand>>(unit, "ExecStartEx").at(0).argv;
    ASSERT_GE(argv.size(), 5U);
    EXPECT_EQ((std::vector<std::string>(argv.end() - 5, argv.end())),
              (std::vector<std::string>{warmHandoverMountPoint, codeMountPoint, warmReadyMountPoint,
                                        "numpy", "matplotlib.pyplot"}));
}

TEST(WarmUnit, TakesItsRunsCgroupLimitsAtHandover)
{
    const auto limits = runCgroupLimits(sampleRun().limits);
    std::vector<std::string> names;
    names.reserve(limits.size());
    for (const auto& property : limits)
    {
        names.push_back(property.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"MemoryMax", "MemorySwapMax", "CPUQuotaPerSecUSec",
                                               "TasksMax"}));
    EXPECT_EQ(std::get<std::uint64_t>(limits.back().value), unitTasksMax(16));
}

} // namespace
} // namespace pyrunner::systemd
