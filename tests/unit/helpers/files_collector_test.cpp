#include "common/fd.hpp"
#include "common/file_paths.hpp"
#include "common/files_manifest.hpp"
#include "common/run_files.hpp"
#include "helpers/files_collector.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace
{

using pyrunner::core::CollectedFile;
using pyrunner::core::FilesManifest;
using pyrunner::core::SkippedFile;
using pyrunner::core::UniqueFd;
using pyrunner::helpers::CollectLimits;

// nobody: a user that owns nothing here, so that only what it may read gets read.
constexpr uid_t runUid = 65534;
constexpr gid_t runGid = 65534;

std::string readFile(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

CollectLimits limits(std::uint32_t count = 100, std::uint64_t bytes = 1 << 20)
{
    return {count, bytes, std::chrono::seconds(60)};
}

// A run's /tmp (owned by the run's user) with out/ in it, and a run directory beside it, as
// the broker makes them.
class FilesCollector : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (::geteuid() != 0)
        {
            GTEST_SKIP() << "collecting drops to another user, which takes root";
        }
        std::filesystem::create_directory(tmp);
        own(tmp);
        std::filesystem::create_directory(out);
        own(out);
        std::filesystem::create_directory(run);
        std::filesystem::permissions(run, std::filesystem::perms(02750));
    }

    static void own(const std::filesystem::path& path)
    {
        ASSERT_EQ(::lchown(path.c_str(), runUid, runGid), 0) << path;
    }

    void write(const std::string& relative, const std::string& data, mode_t mode = 0644)
    {
        const auto path = out / relative;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << data;
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        own(path);
    }

    void link(const std::string& relative, const std::string& target)
    {
        const auto path = out / relative;
        ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
        own(path);
    }

    FilesManifest collect(const CollectLimits& limits = ::limits(), int stopFd = -1)
    {
        const UniqueFd runDir(::open(run.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        const auto filesDir = pyrunner::helpers::prepareFilesDir(runDir.get());
        const UniqueFd parent(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        auto manifest =
            pyrunner::helpers::collectFiles(parent.get(), "out", filesDir.get(), limits, stopFd);
        EXPECT_TRUE(pyrunner::helpers::writeManifest(runDir.get(), manifest));
        EXPECT_EQ(pyrunner::core::parseManifest(readFile(run / "files-manifest")), manifest);
        // Nothing but the listed copies.
        std::size_t copies = 0;
        for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(files()))
        {
            ++copies;
        }
        EXPECT_EQ(copies, manifest.files.size());
        return manifest;
    }

    std::filesystem::path files() const { return run / "files"; }
    std::string copy(std::uint32_t index) const
    {
        return readFile(files() / std::to_string(index));
    }

    pyrunner::test::TempDir root{"pyrunner-collect"};
    std::filesystem::path tmp = root.path() / "tmp";
    std::filesystem::path out = tmp / "out";
    std::filesystem::path run = root.path() / "run";
};

TEST_F(FilesCollector, CopiesRegularFilesOfEveryDirectoryByteForByte)
{
    const std::string binary("\0\n\xff\x01 bytes", 10);
    write("report.txt", "hello\n");
    write("sub/data.bin", binary);
    write("sub/deeper/empty", "");
    write("z", "last of out/");
    own(out / "sub");
    own(out / "sub/deeper");

    const auto manifest = collect();

    // A directory's files before its subdirectories, each in byte order.
    const std::vector<CollectedFile> expected = {{"report.txt", 6, 0},
                                                 {"z", 12, 1},
                                                 {"sub/data.bin", binary.size(), 2},
                                                 {"sub/deeper/empty", 0, 3}};
    EXPECT_EQ(manifest.files, expected);
    EXPECT_TRUE(manifest.skipped.empty());
    EXPECT_FALSE(manifest.truncated);
    EXPECT_EQ(copy(0), "hello\n");
    EXPECT_EQ(copy(1), "last of out/");
    EXPECT_EQ(copy(2), binary);
    EXPECT_EQ(copy(3), "");
    struct stat status
    {
    };
    ASSERT_EQ(::stat((files() / "2").c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0640U);
    EXPECT_EQ(status.st_uid, 0U);
    ASSERT_EQ(::stat(files().c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 02750U);
}

TEST_F(FilesCollector, SkipsSymlinksWithoutFollowingThem)
{
    write("a.txt", "mine");
    link("shadow", "/etc/shadow");
    link("etc", "/etc");
    link("inside", "a.txt");

    const auto manifest = collect();

    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{"a.txt", 4, 0}}));
    const std::vector<SkippedFile> skipped = {
        {"etc", "symlink"}, {"inside", "symlink"}, {"shadow", "symlink"}};
    EXPECT_EQ(manifest.skipped, skipped);
    EXPECT_EQ(copy(0), "mine");
}

TEST_F(FilesCollector, ListsFifosSocketsAndDevicesWithoutOpeningThem)
{
    // Opened for reading, this FIFO would wait for a writer forever.
    ASSERT_EQ(::mkfifo((out / "pipe").c_str(), 0666), 0);
    ASSERT_EQ(::mknod((out / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    const UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const auto socketPath = (out / "socket").string();
    ASSERT_LT(socketPath.size(), sizeof address.sun_path);
    socketPath.copy(address.sun_path, socketPath.size());
    ASSERT_EQ(::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);

    const auto manifest = collect();

    EXPECT_TRUE(manifest.files.empty());
    const std::vector<SkippedFile> skipped = {
        {"null", "device"}, {"pipe", "fifo"}, {"socket", "socket"}};
    EXPECT_EQ(manifest.skipped, skipped);
    EXPECT_FALSE(manifest.truncated);
}

// Root could read these; only the run's user, which the walk runs as, cannot.
TEST_F(FilesCollector, WhatTheRunsUserCannotReadIsUnreadable)
{
    write("secret", "root could read this", 0000);
    write("closed/inside", "nor this");
    ASSERT_EQ(::chmod((out / "closed").c_str(), 0000), 0);
    own(out / "closed");
    write("open", "yes");

    const auto manifest = collect();

    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{"open", 3, 0}}));
    const std::vector<SkippedFile> skipped = {{"secret", "unreadable"}, {"closed", "unreadable"}};
    EXPECT_EQ(manifest.skipped, skipped);
}

TEST_F(FilesCollector, InvalidNamesAreListedShownWithReplacementCharacters)
{
    write("bad\nname", "x");
    write("bad\xffname", "x");
    write("dir\x01/inside", "x");
    own(out / "dir\x01");
    write("good", "x");

    const auto manifest = collect();

    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{"good", 1, 0}}));
    // The directory once, not what it holds.
    const std::vector<SkippedFile> skipped = {{"bad\xEF\xBF\xBDname", "invalid_name"},
                                              {"bad\xEF\xBF\xBDname", "invalid_name"},
                                              {"dir\xEF\xBF\xBD", "invalid_name"}};
    EXPECT_EQ(manifest.skipped, skipped);
}

TEST_F(FilesCollector, ALongInvalidNameStillGivesAManifestThatParses)
{
    // Each invalid byte shows as three: the shown path must still fit the manifest's rule.
    std::string dirs;
    for (int level = 0; level < 4; ++level)
    {
        dirs += std::string(200, 'd') + '/';
    }
    write(dirs + std::string(220, '\xff'), "x");

    const auto manifest = collect();

    ASSERT_EQ(manifest.skipped.size(), 1U);
    EXPECT_EQ(manifest.skipped[0].reason, "invalid_name");
    EXPECT_TRUE(manifest.skipped[0].path.starts_with(dirs + "\xEF\xBF\xBD"));
}

// Flattens a chain of directories named `name` one level at a time: a path through all of
// them is longer than any system call takes.
void removeChain(const std::filesystem::path& top, const char* name)
{
    const UniqueFd dir(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const std::string inner = std::string(name) + "/" + name;
    while (::renameat(dir.get(), inner.c_str(), dir.get(), "next") == 0)
    {
        std::filesystem::remove_all(top / name);
        ::renameat(dir.get(), "next", dir.get(), name);
    }
    std::filesystem::remove_all(top / name);
}

TEST_F(FilesCollector, DeepNestingNeedsNoDescriptorPerLevelAndStopsAtThePathLimit)
{
    constexpr int depth = 2000;
    // "a/a/.../a" of 513 segments is the first path past 1024 bytes.
    constexpr std::size_t firstTooLong = 513;
    {
        UniqueFd dir(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        for (int level = 0; level < depth; ++level)
        {
            ASSERT_EQ(::mkdirat(dir.get(), "a", 0755), 0);
            dir = UniqueFd(::openat(dir.get(), "a", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            ASSERT_TRUE(dir);
            if (level == 9 || level == depth - 1)
            {
                const UniqueFd file(::openat(dir.get(), "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
                ASSERT_TRUE(file);
                ASSERT_EQ(::write(file.get(), "deep", 4), 4);
            }
        }
    }

    const auto manifest = collect();
    removeChain(out, "a");

    std::string tenDeep = "a";
    for (int level = 1; level < 10; ++level)
    {
        tenDeep += "/a";
    }
    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{tenDeep + "/f", 4, 0}}));
    ASSERT_EQ(manifest.skipped.size(), 1U);
    EXPECT_EQ(manifest.skipped[0].reason, "invalid_name");
    std::string tooLong = "a";
    for (std::size_t level = 1; level < firstTooLong; ++level)
    {
        tooLong += "/a";
    }
    EXPECT_EQ(manifest.skipped[0].path, pyrunner::core::displayPath(tooLong));
    EXPECT_FALSE(manifest.truncated);
}

TEST_F(FilesCollector, StopsAtTheFilesCountWithinBoundedTime)
{
    constexpr int made = 20000;
    constexpr std::uint32_t count = 10000;
    {
        const UniqueFd dir(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        for (int i = 0; i < made; ++i)
        {
            std::array<char, 16> name{};
            std::snprintf(name.data(), name.size(), "f%05d", i);
            const UniqueFd file(
                ::openat(dir.get(), name.data(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
            ASSERT_TRUE(file);
            ASSERT_EQ(::write(file.get(), "x", 1), 1);
        }
    }

    const auto start = std::chrono::steady_clock::now();
    const auto manifest = collect(limits(count));
    const auto took = std::chrono::steady_clock::now() - start;

    ASSERT_EQ(manifest.files.size(), count);
    EXPECT_EQ(manifest.files.back(), (CollectedFile{"f09999", 1, count - 1}));
    EXPECT_EQ(copy(count - 1), "x");
    EXPECT_TRUE(manifest.truncated);
    EXPECT_LT(took, std::chrono::seconds(30));
}

TEST_F(FilesCollector, ListsAtMostTheFilesCountOfSkippedEntries)
{
    for (const char* name : {"l1", "l2", "l3", "l4"})
    {
        link(name, "/");
    }
    const auto manifest = collect(limits(3));
    EXPECT_EQ(manifest.skipped.size(), 3U);
    EXPECT_TRUE(manifest.truncated);
}

TEST_F(FilesCollector, StopsBeforeAFileThatWouldPassTheBytesCap)
{
    write("a", "0123456789");
    write("b", "0123456789");
    write("c", "0123456789");
    write("d", "");

    const auto manifest = collect(limits(100, 25));

    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{"a", 10, 0}, {"b", 10, 1}}));
    EXPECT_TRUE(manifest.truncated);
}

TEST_F(FilesCollector, MissingOutIsAnEmptyManifest)
{
    std::filesystem::remove(out);
    EXPECT_EQ(collect(), FilesManifest{});
}

TEST_F(FilesCollector, OutAsASymlinkIsAnEmptyManifest)
{
    std::filesystem::remove(out);
    std::filesystem::create_directory(tmp / "elsewhere");
    std::ofstream(tmp / "elsewhere" / "file") << "x";
    ASSERT_EQ(::symlink("elsewhere", out.c_str()), 0);
    EXPECT_EQ(collect(), FilesManifest{});
}

TEST_F(FilesCollector, OutAsAFileIsAnEmptyManifest)
{
    std::filesystem::remove(out);
    std::ofstream(out) << "x";
    EXPECT_EQ(collect(), FilesManifest{});
}

TEST_F(FilesCollector, ARootOwnedTmpIsNoRunsAndGivesNothing)
{
    write("a", "x");
    ASSERT_EQ(::chown(tmp.c_str(), 0, 0), 0);
    EXPECT_EQ(collect(), FilesManifest{});
}

TEST_F(FilesCollector, AStopRequestEndsCollectionTruncated)
{
    write("a", "x");
    const UniqueFd stop(::eventfd(1, EFD_CLOEXEC));
    const auto manifest = collect(limits(), stop.get());
    EXPECT_TRUE(manifest.files.empty());
    EXPECT_TRUE(manifest.truncated);
}

TEST_F(FilesCollector, NoTimeLeftEndsCollectionTruncated)
{
    write("a", "x");
    auto noTime = limits();
    noTime.time = std::chrono::seconds(0);
    const auto manifest = collect(noTime);
    EXPECT_TRUE(manifest.files.empty());
    EXPECT_TRUE(manifest.truncated);
}

TEST_F(FilesCollector, AnotherAttemptStartsFromAnEmptyFilesDirectory)
{
    std::filesystem::create_directory(files());
    std::ofstream(files() / "0") << "from an attempt that died";
    std::ofstream(files() / "7") << "from an attempt that died";
    write("a", "new");

    const UniqueFd runDir(::open(run.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    EXPECT_FALSE(pyrunner::helpers::alreadyCollected(runDir.get()));
    const auto manifest = collect();

    EXPECT_EQ(manifest.files, (std::vector<CollectedFile>{{"a", 3, 0}}));
    EXPECT_EQ(copy(0), "new");
    EXPECT_TRUE(pyrunner::helpers::alreadyCollected(runDir.get()));
}

// The program as systemd runs it; with `terminated`, systemd's SIGTERM is already pending
// as it starts, which it must take as its stop timeout.
int runCollector(const std::vector<std::string>& arguments, bool terminated = false)
{
    const pid_t pid = ::fork();
    if (pid == 0)
    {
        // A blocked signal stays pending through execve.
        sigset_t mask{};
        sigemptyset(&mask);
        if (terminated)
        {
            sigaddset(&mask, SIGTERM);
        }
        ::sigprocmask(SIG_SETMASK, &mask, nullptr);
        if (terminated)
        {
            ::raise(SIGTERM);
        }
        std::vector<char*> argv{const_cast<char*>(PYRUNNER_COLLECT_FILES_BINARY)};
        for (const auto& argument : arguments)
        {
            argv.push_back(const_cast<char*>(argument.c_str()));
        }
        argv.push_back(nullptr);
        ::execv(PYRUNNER_COLLECT_FILES_BINARY, argv.data());
        ::_exit(127);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(FilesCollector, ProgramWritesTheManifestOnceAndFailsOnlyWithoutARunDirectory)
{
    write("a", "from the program");
    const std::vector<std::string> arguments = {
        "--out", out.string(),    "--into", run.string(), "--files-count",
        "10",    "--files-bytes", "1000",   "--seconds",  "30"};

    EXPECT_EQ(runCollector(arguments), 0);
    const auto manifest = pyrunner::core::parseManifest(readFile(run / "files-manifest"));
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->files, (std::vector<CollectedFile>{{"a", 16, 0}}));
    EXPECT_EQ(copy(0), "from the program");

    // A restarted unit's collector leaves the first one's work alone.
    write("b", "later");
    EXPECT_EQ(runCollector(arguments), 0);
    EXPECT_EQ(pyrunner::core::parseManifest(readFile(run / "files-manifest")), manifest);

    auto noRunDir = arguments;
    noRunDir[3] = (root.path() / "missing").string();
    EXPECT_EQ(runCollector(noRunDir), 1);
    auto relativeOut = arguments;
    relativeOut[1] = "out";
    EXPECT_EQ(runCollector(relativeOut), 2);
    EXPECT_EQ(runCollector({"--out", out.string()}), 2);
}

TEST_F(FilesCollector, ProgramStoppedBySystemdListsWhatItHasAsTruncated)
{
    write("a", "x");
    EXPECT_EQ(runCollector({"--out", out.string(), "--into", run.string(), "--files-count", "10",
                            "--files-bytes", "1000", "--seconds", "30"},
                           true),
              0);
    const auto manifest = pyrunner::core::parseManifest(readFile(run / "files-manifest"));
    ASSERT_TRUE(manifest);
    EXPECT_TRUE(manifest->files.empty());
    EXPECT_TRUE(manifest->truncated);
}

} // namespace
