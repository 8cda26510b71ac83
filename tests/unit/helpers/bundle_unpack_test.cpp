#include "front/files/archive_maker.hpp"
#include "front/files/files_in.hpp"
#include "helpers/bundle_unpack.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace pyrunner::helpers
{
namespace
{

namespace fs = std::filesystem;
using testing::ArchiveItem;
using testing::ArchiveKind;
using testing::makeArchive;

// A fresh working directory, made current for the test as the unit's cwd is, with the out/
// the run starts with.
class UnpackTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        std::string pattern = (fs::temp_directory_path() / "unpack-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        fs::create_directory(root_ / "work");
        fs::create_directory(root_ / "work" / "out");
        previous_ = fs::current_path();
        fs::current_path(root_ / "work");
    }

    void TearDown() override
    {
        fs::current_path(previous_);
        fs::remove_all(root_);
    }

    std::string bundleFile(const std::string& bytes)
    {
        const auto path = root_ / "bundle.tar";
        std::ofstream(path, std::ios::binary) << bytes;
        return path.string();
    }

    static std::string read(const fs::path& path)
    {
        std::ifstream in(path, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    std::vector<std::string> listing() const
    {
        std::vector<std::string> paths;
        for (const auto& entry : fs::recursive_directory_iterator(root_))
        {
            paths.push_back(fs::relative(entry.path(), root_).string());
        }
        std::sort(paths.begin(), paths.end());
        return paths;
    }

    fs::path root_;
    fs::path previous_;
};

TEST_F(UnpackTest, PutsTheFilesInPlace)
{
    files::FilesIn in;
    in.files = {{"files[0].path", "main.py", "print(1)\n"},
                {"files[1].path", "data/deep/x.bin", std::string("\0\1\2", 3)}};
    in.entry = "main.py";
    const auto bundle = files::makeBundle(std::move(in), {100, 1 << 20, 1 << 20});
    ASSERT_TRUE(std::holds_alternative<std::string>(bundle));
    const auto path = bundleFile(std::get<std::string>(bundle));
    EXPECT_EQ(unpackBundle(path), std::nullopt);
    EXPECT_EQ(read("main.py"), "print(1)\n");
    EXPECT_EQ(read("data/deep/x.bin"), std::string("\0\1\2", 3));
    EXPECT_TRUE(fs::is_directory("out"));
    EXPECT_EQ(listing(),
              (std::vector<std::string>{"bundle.tar", "work", "work/data", "work/data/deep",
                                        "work/data/deep/x.bin", "work/main.py", "work/out"}));
}

// The helper runs in the C locale, as systemd starts it; names are UTF-8 byte for byte.
TEST_F(UnpackTest, KeepsUtf8NamesInTheCLocale)
{
    files::FilesIn in;
    in.files = {{"files[0].path", "donn\u00e9es/\u00e9t\u00e9.csv", "x"}};
    in.archive =
        makeArchive(ArchiveKind::Zip, {{.path = "\u65e5\u672c/\u8a9e.py", .content = "y"}});
    const auto bundle = files::makeBundle(std::move(in), {100, 1 << 20, 1 << 20});
    ASSERT_TRUE(std::holds_alternative<std::string>(bundle))
        << std::get<files::FilesRefusal>(bundle).message;
    EXPECT_EQ(unpackBundle(bundleFile(std::get<std::string>(bundle))), std::nullopt);
    EXPECT_EQ(read("donn\u00e9es/\u00e9t\u00e9.csv"), "x");
    EXPECT_EQ(read("\u65e5\u672c/\u8a9e.py"), "y");
}

TEST_F(UnpackTest, RefusesBadEntriesOfAHandMadeTar)
{
    const std::vector<std::pair<ArchiveItem, std::string>> cases{
        {{.path = "../evil", .content = "x"}, "bundle entry \"../evil\" has a \"..\" segment."},
        {{.path = "/tmp/evil", .content = "x"}, "bundle entry \"/tmp/evil\" is absolute."},
        {{.path = "out/x", .content = "x"}, "bundle entry \"out/x\" is under out/."},
        {{.path = "link", .type = AE_IFLNK, .link = "/etc/passwd"},
         "bundle entry \"link\" is neither a file nor a directory."},
        {{.path = "hard", .link = "ok.py", .hardLink = true},
         "bundle entry \"hard\" is neither a file nor a directory."},
        {{.path = "fifo", .type = AE_IFIFO},
         "bundle entry \"fifo\" is neither a file nor a directory."},
    };
    for (const auto& [item, message] : cases)
    {
        const auto path =
            bundleFile(makeArchive(ArchiveKind::Tar, {{.path = "ok.py", .content = "1"}, item}));
        EXPECT_EQ(unpackBundle(path), message);
        fs::remove("ok.py");
    }
    EXPECT_EQ(listing(), (std::vector<std::string>{"bundle.tar", "work", "work/out"}));
}

TEST_F(UnpackTest, NeverOverwritesNorFollowsALink)
{
    fs::create_symlink(root_, "escape");
    const auto path =
        bundleFile(makeArchive(ArchiveKind::Tar, {{.path = "escape/planted", .content = "x"}}));
    EXPECT_NE(unpackBundle(path), std::nullopt);
    EXPECT_FALSE(fs::exists(root_ / "planted"));
    std::ofstream("there.txt") << "old";
    EXPECT_NE(unpackBundle(bundleFile(
                  makeArchive(ArchiveKind::Tar, {{.path = "there.txt", .content = "new"}}))),
              std::nullopt);
    EXPECT_EQ(read("there.txt"), "old");
}

TEST_F(UnpackTest, RefusesWhatIsNoTar)
{
    EXPECT_NE(
        unpackBundle(bundleFile(makeArchive(ArchiveKind::Zip, {{.path = "a", .content = "x"}}))),
        std::nullopt);
    EXPECT_NE(unpackBundle((root_ / "missing").string()), std::nullopt);
}

} // namespace
} // namespace pyrunner::helpers
