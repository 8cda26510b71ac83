#include "cgroup/cgroup_tree.hpp"

#include "cgroup/cgroup_files.hpp"
#include "common/text.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

// Every figure file read here is one line or a few "key value" lines.
constexpr std::size_t figureFileMaxBytes = 4096;

// The text of the file `name` in the cgroup directory `dir`; nullopt when either is gone.
std::optional<std::string> readFigures(const core::UniqueFd& dir, const char* name)
{
    if (!dir)
    {
        return std::nullopt;
    }
    const core::UniqueFd file(::openat(dir.get(), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::array<char, figureFileMaxBytes> text{};
    const auto got = file ? ::read(file.get(), text.data(), text.size()) : -1;
    if (got < 0)
    {
        return std::nullopt;
    }
    return std::string(text.data(), static_cast<std::size_t>(got));
}

template <typename Parse>
std::optional<std::uint64_t> figure(const std::optional<std::string>& text, Parse parse)
{
    return text ? parse(*text) : std::nullopt;
}

} // namespace

bool cgroupVanished(int error)
{
    return error == ENOENT || error == ENODEV;
}

core::UniqueFd openHierarchy(const char* path, decltype(statfs::f_type) magic)
{
    core::UniqueFd root(::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct statfs fs
    {
    };
    if (!root || ::fstatfs(root.get(), &fs) != 0 || fs.f_type != magic)
    {
        return {};
    }
    return root;
}

std::optional<std::vector<std::string>> cgroupComponents(std::string_view controlGroup)
{
    if (!controlGroup.starts_with('/'))
    {
        return std::nullopt;
    }
    std::vector<std::string> names;
    std::size_t start = 1;
    while (true)
    {
        const auto end = controlGroup.find('/', start);
        const auto name =
            controlGroup.substr(start, end == std::string_view::npos ? end : end - start);
        if (name.empty() || name == "." || name == ".." ||
            name.find('\0') != std::string_view::npos)
        {
            return std::nullopt;
        }
        names.emplace_back(name);
        if (end == std::string_view::npos)
        {
            return names;
        }
        start = end + 1;
    }
}

core::UniqueFd openCgroup(int hierarchyRoot, std::string_view controlGroup)
{
    const auto components = cgroupComponents(controlGroup);
    if (!components)
    {
        throw std::runtime_error("\"" + std::string(controlGroup) +
                                 "\" is not a cgroup below the root");
    }
    core::UniqueFd dir;
    for (const auto& name : *components)
    {
        // O_NOFOLLOW at every step: no link on the way may lead out of the hierarchy.
        dir = core::UniqueFd(::openat(dir ? dir.get() : hierarchyRoot, name.c_str(),
                                      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir)
        {
            if (cgroupVanished(errno))
            {
                return {};
            }
            throw std::runtime_error("cannot open " + name +
                                     " in the cgroup tree: " + std::strerror(errno));
        }
    }
    return dir;
}

CgroupTree CgroupTree::forHost()
{
    CgroupTree tree;
    tree.memory_ = openHierarchy("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC);
    tree.pids_ = openHierarchy("/sys/fs/cgroup/pids", CGROUP_SUPER_MAGIC);
    tree.cpu_ = openHierarchy("/sys/fs/cgroup/cpu", CGROUP_SUPER_MAGIC);
    tree.cpuacct_ = openHierarchy("/sys/fs/cgroup/cpuacct", CGROUP_SUPER_MAGIC);
    tree.devices_ = openHierarchy("/sys/fs/cgroup/devices", CGROUP_SUPER_MAGIC);
    // Hybrid hosts mount the unified hierarchy beside the v1 ones.
    tree.unified_ = openHierarchy("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC);
    if (!tree.unified_)
    {
        tree.unified_ = openHierarchy("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC);
    }
    return tree;
}

core::UniqueFd CgroupTree::in(const core::UniqueFd& hierarchy, std::string_view controlGroup)
{
    return hierarchy ? openCgroup(hierarchy.get(), controlGroup) : core::UniqueFd();
}

std::optional<core::CgroupStats> CgroupTree::read(std::string_view controlGroup) const
{
    const auto unified = in(unified_, controlGroup);
    const auto memory = in(memory_, controlGroup);
    core::CgroupStats stats;
    // v1 and v2 name the same figures differently.
    if (memory_)
    {
        const auto oomControl = readFigures(memory, "memory.oom_control");
        if (!oomControl)
        {
            return std::nullopt;
        }
        stats.oomKills = keyedValue(*oomControl, "oom_kill");
        stats.memoryPeakBytes =
            figure(readFigures(memory, "memory.max_usage_in_bytes"), numberFile);
        stats.memoryLimitBytes = figure(readFigures(memory, "memory.limit_in_bytes"), numberFile);
    }
    else
    {
        const auto events = readFigures(unified, "memory.events");
        if (!events)
        {
            return std::nullopt;
        }
        stats.oomKills = keyedValue(*events, "oom_kill");
        stats.memoryPeakBytes = figure(readFigures(unified, "memory.peak"), numberFile);
        stats.memoryLimitBytes = figure(readFigures(unified, "memory.max"), numberFile);
    }
    stats.tasksLimit = figure(pids_ ? readFigures(in(pids_, controlGroup), "pids.max")
                                    : readFigures(unified, "pids.max"),
                              numberFile);
    // v2's cpu.max is "quota period"; the period is systemd's 100 ms.
    stats.cpuQuotaUsec =
        cpu_ ? figure(readFigures(in(cpu_, controlGroup), "cpu.cfs_quota_us"), numberFile)
             : figure(readFigures(unified, "cpu.max"), firstNumber);
    // cpu.stat's usage is kept for every v2 cgroup, with or without the cpu controller, also
    // on hybrid hosts; a legacy host has only cpuacct's.
    stats.cpuUsageUsec = figure(readFigures(unified, "cpu.stat"), [](std::string_view text) {
        return keyedValue(text, "usage_usec");
    });
    if (!stats.cpuUsageUsec && cpuacct_)
    {
        constexpr std::uint64_t nsecPerUsec = 1000;
        const auto usage =
            figure(readFigures(in(cpuacct_, controlGroup), "cpuacct.usage"), numberFile);
        stats.cpuUsageUsec = usage ? std::optional(*usage / nsecPerUsec) : std::nullopt;
    }
    return stats;
}

std::optional<std::uint64_t> CgroupTree::unifiedId(std::string_view controlGroup) const
{
    const auto dir = in(unified_, controlGroup);
    struct stat status
    {
    };
    if (!dir || ::fstat(dir.get(), &status) != 0)
    {
        return std::nullopt;
    }
    return status.st_ino;
}

std::optional<std::vector<pid_t>> CgroupTree::processes(std::string_view controlGroup) const
{
    const auto text = readFigures(in(unified_, controlGroup), "cgroup.procs");
    if (!text || text->size() >= figureFileMaxBytes)
    {
        return std::nullopt;
    }
    std::vector<pid_t> pids;
    core::forEachLine(*text, [&pids](std::string_view line) {
        if (const auto pid = core::parseUnsigned(line))
        {
            pids.push_back(static_cast<pid_t>(*pid));
        }
    });
    return pids;
}

std::optional<std::uint32_t> CgroupTree::attachedPrograms(std::string_view controlGroup,
                                                          bpf_attach_type type) const
{
    const auto dir = in(unified_, controlGroup);
    if (!dir)
    {
        return std::nullopt;
    }
    // The kernel takes a cgroup only as a directory opened for reading, not an O_PATH one.
    const core::UniqueFd readable(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!readable)
    {
        if (cgroupVanished(errno))
        {
            return std::nullopt;
        }
        throw std::system_error(errno, std::generic_category(),
                                "cannot open " + std::string(controlGroup));
    }
    bpf_attr query{};
    query.query.target_fd = static_cast<std::uint32_t>(readable.get());
    query.query.attach_type = type;
    // No room for the programs' ids: the kernel answers with their count alone.
    if (::syscall(SYS_bpf, BPF_PROG_QUERY, &query, sizeof query) != 0)
    {
        if (cgroupVanished(errno))
        {
            return std::nullopt;
        }
        throw std::system_error(errno, std::generic_category(),
                                "BPF_PROG_QUERY on " + std::string(controlGroup));
    }
    return query.query.prog_cnt;
}

std::optional<std::uint64_t> CgroupTree::unifiedMemoryPeak(std::string_view controlGroup) const
{
    return figure(readFigures(in(unified_, controlGroup), "memory.peak"), numberFile);
}

std::optional<std::uint64_t> CgroupTree::unifiedOomKills(std::string_view controlGroup) const
{
    return figure(readFigures(in(unified_, controlGroup), "memory.events"),
                  [](std::string_view text) { return keyedValue(text, "oom_kill"); });
}

std::optional<bool> CgroupTree::devicesRestricted(std::string_view controlGroup) const
{
    const auto list = readFigures(in(devices_, controlGroup), "devices.list");
    return list ? std::optional(!devicesListAllowsAll(*list)) : std::nullopt;
}

} // namespace pyrunner::systemd
