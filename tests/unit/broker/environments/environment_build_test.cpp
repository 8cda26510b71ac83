#include "broker/environments/env_tree.hpp"
#include "broker/units/env_build_unit.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace pyrunner::systemd
{
namespace
{

namespace fs = std::filesystem;

EnvironmentBuild sampleBuild()
{
    EnvironmentBuild build;
    build.token = "0123456789abcdef0123456789abcdef";
    build.outputDir = "/var/lib/pyrunner/runs/0123456789abcdef0123456789abcdef";
    build.findLinks = "/srv/wheels";
    build.timeoutS = 300;
    return build;
}

UnitSettings sampleSettings()
{
    UnitSettings settings;
    settings.stateDir = "/var/lib/pyrunner";
    return settings;
}

template <class T> T get(const TransientUnit& unit, const std::string& name)
{
    const auto* value = findProperty(unit, name);
    EXPECT_NE(value, nullptr) << name;
    return value != nullptr ? std::get<T>(*value) : T{};
}

TEST(EnvironmentBuildUnit, RunsAsADynamicUserWithoutNetworkAndWithTheStateDirOnlyWritable)
{
    const auto unit = buildEnvironmentUnit(sampleBuild(), sampleSettings());
    EXPECT_EQ(unit.name, "pyrunner-build-0123456789abcdef0123456789abcdef.service");
    EXPECT_TRUE(get<bool>(unit, "DynamicUser"));
    EXPECT_TRUE(get<bool>(unit, "PrivateNetwork"));
    EXPECT_TRUE(get<bool>(unit, "NoNewPrivileges"));
    EXPECT_EQ(get<std::string>(unit, "ProtectSystem"), "strict");
    EXPECT_EQ(get<StringList>(unit, "StateDirectory"),
              StringList{"pyrunner-build-0123456789abcdef0123456789abcdef"});
    const auto hidden = get<StringList>(unit, "InaccessiblePaths");
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "-/var/lib/pyrunner"), hidden.end());
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "-/etc/pyrunner"), hidden.end());
}

TEST(EnvironmentBuildUnit, IsBoundInTimeMemoryAndFileSize)
{
    const auto unit = buildEnvironmentUnit(sampleBuild(), sampleSettings());
    EXPECT_EQ(get<std::string>(unit, "Type"), "oneshot");
    EXPECT_EQ(get<std::uint64_t>(unit, "TimeoutStartUSec"), 300ULL * 1000000ULL);
    EXPECT_EQ(get<std::uint64_t>(unit, "MemoryMax"), 2048ULL * 1024ULL * 1024ULL);
    EXPECT_EQ(get<std::uint64_t>(unit, "LimitFSIZE"), std::uint64_t{1} << 30);
}

TEST(EnvironmentBuildUnit, MakesAVenvThenInstallsFromTheWheelDirectoryOnly)
{
    const auto unit = buildEnvironmentUnit(sampleBuild(), sampleSettings());
    const auto exec = get<std::vector<ExecCommand>>(unit, "ExecStartEx");
    ASSERT_EQ(exec.size(), 2U);
    const auto venv = "/var/lib/pyrunner-build-0123456789abcdef0123456789abcdef/venv";
    EXPECT_EQ(exec[0].argv,
              (StringList{"/usr/bin/python3", "-I", "-m", "venv", "--without-pip", venv}));
    const auto& pip = exec[1].argv;
    const auto has = [&pip](const std::string& arg) {
        return std::find(pip.begin(), pip.end(), arg) != pip.end();
    };
    EXPECT_TRUE(has("--no-index"));
    EXPECT_TRUE(has("/tmp/pyrunner-wheels"));
    const auto binds = get<std::vector<BindMount>>(unit, "BindReadOnlyPaths");
    ASSERT_EQ(binds.size(), 1U);
    EXPECT_EQ(binds[0], (BindMount{"/srv/wheels", "/tmp/pyrunner-wheels", false, 0}));
    EXPECT_TRUE(has(std::string(venv) + "/bin/python"));
    EXPECT_EQ(pip.back(),
              "/run/credentials/pyrunner-build-0123456789abcdef0123456789abcdef.service/"
              "requirements.txt");
    const auto credentials = get<std::vector<CredentialSource>>(unit, "LoadCredential");
    ASSERT_EQ(credentials.size(), 1U);
    EXPECT_EQ(credentials[0].path, sampleBuild().outputDir + "/requirements.txt");
}

class FreezeTreeTest : public testing::Test
{
  protected:
    FreezeTreeTest()
    {
        fs::create_directories(from_ / "lib");
        std::ofstream(from_ / "lib" / "module.py") << "VALUE = 1\n";
        fs::create_symlink("/usr/bin/python3", from_ / "python");
        fs::permissions(from_ / "lib" / "module.py", fs::perms(06777));
    }
    ~FreezeTreeTest() override
    {
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
        removeTree(dir_);
    }
    FreezeTreeTest(const FreezeTreeTest&) = delete;
    FreezeTreeTest& operator=(const FreezeTreeTest&) = delete;
    FreezeTreeTest(FreezeTreeTest&&) = delete;
    FreezeTreeTest& operator=(FreezeTreeTest&&) = delete;

    const fs::path dir_ =
        fs::temp_directory_path() / ("pyrunner-freeze-" + std::to_string(::getpid()));
    const fs::path from_ = dir_ / "built";
    const fs::path to_ = dir_ / "frozen";
};

TEST_F(FreezeTreeTest, MovesTheTreeAndTakesEveryWriteAndSetIdBitAway)
{
    ASSERT_EQ(freezeTree(from_, to_, 1 << 20), std::nullopt);
    EXPECT_FALSE(fs::exists(from_));
    struct stat info
    {
    };
    ASSERT_EQ(::stat((to_ / "lib" / "module.py").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0555U);
    ASSERT_EQ(::stat((to_ / "lib").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0222, 0U);
    EXPECT_EQ(fs::read_symlink(to_ / "python"), "/usr/bin/python3");
}

TEST_F(FreezeTreeTest, RefusesAndRemovesATreeOverItsSize)
{
    EXPECT_EQ(freezeTree(from_, to_, 4), "the environment is larger than 4 bytes");
    EXPECT_FALSE(fs::exists(to_));
}

TEST_F(FreezeTreeTest, RefusesAHardLink)
{
    fs::create_hard_link(from_ / "lib" / "module.py", from_ / "lib" / "copy.py");
    const auto problem = freezeTree(from_, to_, 1 << 20);
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find("is a hard link"), std::string::npos);
}

TEST_F(FreezeTreeTest, RefusesATreeThatIsALink)
{
    fs::create_directory_symlink("/etc", dir_ / "link");
    EXPECT_EQ(freezeTree(dir_ / "link", to_, 1 << 20), "the build left no environment directory");
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}

TEST_F(FreezeTreeTest, AddsAFileOnlyWhereNothingIsAndReadsItNeverThroughALink)
{
    ASSERT_EQ(freezeTree(from_, to_, 1 << 20), std::nullopt);
    EXPECT_TRUE(addFrozenFile(to_ / "record.txt", "numpy\n"));
    EXPECT_EQ(readFrozenFile(to_ / "record.txt", 100), "numpy\n");
    EXPECT_EQ(readFrozenFile(to_ / "record.txt", 2), std::nullopt);
    EXPECT_FALSE(addFrozenFile(to_ / "record.txt", "again"));
    EXPECT_FALSE(addFrozenFile(to_ / "python", "through the link"));
    EXPECT_EQ(readFrozenFile(to_ / "python", 1 << 20), std::nullopt);
}

} // namespace
} // namespace pyrunner::systemd
