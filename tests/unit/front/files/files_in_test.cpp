#include "front/files/archive_maker.hpp"
#include "front/files/files_in.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace pyrunner::files
{
namespace
{

using testing::ArchiveItem;
using testing::ArchiveKind;
using testing::makeArchive;
using testing::ReadItem;
using testing::readTar;

constexpr std::uint64_t mebibyte = 1024ULL * 1024ULL;

FilesLimits limits(std::uint64_t count = 100, std::uint64_t bytes = 16 * mebibyte)
{
    return FilesLimits{count, bytes, 512 * mebibyte};
}

std::string bundled(FilesIn in, const FilesLimits& given = limits())
{
    auto result = makeBundle(std::move(in), given);
    EXPECT_TRUE(std::holds_alternative<std::string>(result))
        << std::get<FilesRefusal>(result).message;
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
}

FilesRefusal refused(FilesIn in, const FilesLimits& given = limits())
{
    auto result = makeBundle(std::move(in), given);
    EXPECT_TRUE(std::holds_alternative<FilesRefusal>(result));
    return std::holds_alternative<FilesRefusal>(result) ? std::get<FilesRefusal>(result)
                                                        : FilesRefusal{};
}

FilesIn withArchive(std::string archive, std::string entry = {})
{
    FilesIn in;
    in.archive = std::move(archive);
    in.entry = std::move(entry);
    return in;
}

ReadItem file(const std::string& path, const std::string& content)
{
    return ReadItem{path, AE_IFREG, 0600, content, 0, 0};
}

// A tar names a directory with a trailing slash.
ReadItem dir(const std::string& path)
{
    return ReadItem{path + "/", AE_IFDIR, 0700, {}, 0, 0};
}

TEST(FilesIn, NothingInIsNoBundle)
{
    EXPECT_EQ(bundled({}), "");
}

TEST(FilesIn, FilesBecomeABundleWithTheirDirectories)
{
    FilesIn in;
    in.files = {{"files[0].path", "main.py", "print(1)\n"},
                {"files[1].path", "data/deep/sales.csv", "a,b\n1,2\n"},
                {"files[2].path", "data/empty.txt", ""}};
    in.entry = "main.py";
    const auto items = readTar(bundled(std::move(in)));
    EXPECT_EQ(items, (std::vector<ReadItem>{
                         dir("data"), dir("data/deep"), file("data/deep/sales.csv", "a,b\n1,2\n"),
                         file("data/empty.txt", ""), file("main.py", "print(1)\n")}));
}

TEST(FilesIn, EveryArchiveKindIsUnpackedToTheSameBundle)
{
    const std::vector<ArchiveItem> items{
        {.path = "./", .type = AE_IFDIR},
        {.path = "./pkg/", .type = AE_IFDIR},
        {.path = "./pkg/__init__.py", .content = ""},
        {.path = "./pkg/mod.py", .content = "X = 1\n"},
        {.path = "./main.py", .content = "import pkg.mod\n"},
        {.path = "empty/", .type = AE_IFDIR},
        {.path = "bin.dat", .content = std::string("\0\xff\x01", 3)},
    };
    const std::vector<ReadItem> expected{
        file("bin.dat", std::string("\0\xff\x01", 3)), file("main.py", "import pkg.mod\n"),
        dir("pkg"), file("pkg/__init__.py", ""), file("pkg/mod.py", "X = 1\n")};
    for (const auto kind :
         {ArchiveKind::Zip, ArchiveKind::Tar, ArchiveKind::TarGz, ArchiveKind::TarXz})
    {
        EXPECT_EQ(readTar(bundled(withArchive(makeArchive(kind, items), "main.py"))), expected)
            << static_cast<int>(kind);
    }
}

TEST(FilesIn, FilesAndArchiveTogether)
{
    auto in = withArchive(makeArchive(ArchiveKind::Zip, {{.path = "lib/a.py", .content = "A"}}));
    in.files = {{"files[0].path", "main.py", "M"}};
    EXPECT_EQ(readTar(bundled(std::move(in))),
              (std::vector<ReadItem>{dir("lib"), file("lib/a.py", "A"), file("main.py", "M")}));
}

TEST(FilesIn, OtherArchiveFormatsAreRefused)
{
    const auto sevenZip = makeArchive(ArchiveKind::Tar7z, {{.path = "a.py", .content = "A"}});
    EXPECT_EQ(refused(withArchive(sevenZip)).status, 400);
    EXPECT_EQ(refused(withArchive("just some text, not an archive at all")).status, 400);
    EXPECT_EQ(refused(withArchive("")).status, 400);
}

TEST(FilesIn, BadPathsAreRefusedNamingTheEntry)
{
    FilesIn in;
    in.files = {{"files[0].path", "ok.txt", ""},
                {"files[1].path", "ok2.txt", ""},
                {"files[2].path", "../x", ""}};
    EXPECT_EQ(refused(std::move(in)),
              (FilesRefusal{400, "files[2].path \"../x\" has a \"..\" segment."}));
    in = {};
    in.files = {{"files[0].path", "/etc/passwd", ""}};
    EXPECT_EQ(refused(std::move(in)).message, "files[0].path \"/etc/passwd\" is absolute.");
    in = {};
    in.files = {{"files[0].path", "out/x", ""}};
    EXPECT_EQ(refused(std::move(in)).message,
              "files[0].path \"out/x\" is under out/, which is kept for the run's reports.");
    in = {};
    in.files = {{"files[0].path", "out", ""}};
    EXPECT_EQ(refused(std::move(in)).status, 400);
    in = {};
    in.files = {{"files[0].path", "outer/x", ""}};
    EXPECT_EQ(readTar(bundled(std::move(in))).size(), 2U);
}

TEST(FilesIn, DuplicatesAndFileDirectoryClashesAreRefused)
{
    FilesIn in;
    in.files = {{"files[0].path", "a.txt", ""}, {"files[1].path", "a.txt", ""}};
    EXPECT_EQ(refused(std::move(in)).message,
              "files[1].path \"a.txt\" is also files[0].path \"a.txt\".");
    in = {};
    in.files = {{"files[0].path", "a", ""}, {"files[1].path", "a/b", ""}};
    EXPECT_EQ(refused(std::move(in)).message,
              "files[1].path \"a/b\" is under files[0].path \"a\", which is a file.");
    in = {};
    in.files = {{"files[0].path", "a/b", ""}, {"files[1].path", "a", ""}};
    EXPECT_EQ(refused(std::move(in)).message,
              "files[1].path \"a\" is a directory of files[0].path \"a/b\".");
    in = withArchive(makeArchive(ArchiveKind::Tar, {{.path = "a.txt", .content = "x"}}));
    in.files = {{"files[0].path", "a.txt", ""}};
    EXPECT_EQ(refused(std::move(in)).message,
              "archive entry \"a.txt\" is also files[0].path \"a.txt\".");
    in = withArchive(makeArchive(ArchiveKind::Tar, {{.path = "a.txt/", .type = AE_IFDIR}}));
    in.files = {{"files[0].path", "a.txt", ""}};
    EXPECT_EQ(refused(std::move(in)).status, 400);
}

TEST(FilesIn, EscapingArchiveEntriesAreRefused)
{
    for (const auto kind : {ArchiveKind::Zip, ArchiveKind::Tar})
    {
        EXPECT_EQ(refused(withArchive(makeArchive(kind, {{.path = "ok.py", .content = "1"},
                                                         {.path = "../evil", .content = "x"}}))),
                  (FilesRefusal{400, "archive entry \"../evil\" has a \"..\" segment."}));
        EXPECT_EQ(
            refused(withArchive(makeArchive(kind, {{.path = "/etc/x", .content = "x"}}))).message,
            "archive entry \"/etc/x\" is absolute.");
        EXPECT_EQ(
            refused(withArchive(makeArchive(kind, {{.path = "a/../../etc/passwd", .content = ""}})))
                .message,
            "archive entry \"a/../../etc/passwd\" has a \"..\" segment.");
        EXPECT_EQ(refused(withArchive(makeArchive(kind, {{.path = "out/report.html"}}))).status,
                  400);
    }
}

TEST(FilesIn, LinksAndSpecialFilesInArchivesAreRefused)
{
    const auto refusal = [](ArchiveKind kind, const ArchiveItem& item) {
        return refused(withArchive(makeArchive(kind, {{.path = "ok.py", .content = "1"}, item})))
            .message;
    };
    for (const auto kind : {ArchiveKind::Zip, ArchiveKind::Tar})
    {
        EXPECT_EQ(refusal(kind, {.path = "link", .type = AE_IFLNK, .link = "/etc/passwd"}),
                  "archive entry \"link\" is a symlink; an archive may hold only files and "
                  "directories.");
    }
    EXPECT_EQ(refusal(ArchiveKind::Tar, {.path = "hard", .link = "ok.py", .hardLink = true}),
              "archive entry \"hard\" is a hard link; an archive may hold only files and "
              "directories.");
    EXPECT_EQ(refusal(ArchiveKind::Tar, {.path = "dev/null", .type = AE_IFCHR}),
              "archive entry \"dev/null\" is a device; an archive may hold only files and "
              "directories.");
    EXPECT_EQ(refusal(ArchiveKind::Tar, {.path = "fifo", .type = AE_IFIFO}),
              "archive entry \"fifo\" is a FIFO; an archive may hold only files and "
              "directories.");
}

TEST(FilesIn, TooManyFilesIs413NamingTheEntry)
{
    FilesIn in;
    in.files = {{"files[0].path", "a", ""}, {"files[1].path", "b", ""}};
    in.archive = makeArchive(ArchiveKind::Tar,
                             {{.path = "dir/", .type = AE_IFDIR}, {.path = "c", .content = ""}});
    EXPECT_EQ(readTar(bundled(in, limits(3))).size(), 3U);
    EXPECT_EQ(refused(in, limits(2)),
              (FilesRefusal{413, "archive entry \"c\" is one file more than files_count (2) "
                                 "allows."}));
}

TEST(FilesIn, TooManyBytesIs413)
{
    FilesIn in;
    in.files = {{"files[0].path", "a", std::string(600, 'a')},
                {"files[1].path", "b", std::string(500, 'b')}};
    EXPECT_EQ(refused(in, limits(100, 1000)),
              (FilesRefusal{413, "files[1].path \"b\" takes the files past files_bytes (1000 "
                                 "bytes)."}));
    EXPECT_EQ(readTar(bundled(in, limits(100, 1100))).size(), 2U);
    auto small = limits(100, 16 * mebibyte);
    small.diskBytes = mebibyte;
    in.files[1].content = std::string(mebibyte, 'b');
    EXPECT_EQ(refused(in, small).message,
              "files[1].path \"b\" takes the files past what fits in disk_mb (1 MiB).");
}

// A zip entry whose header hides its size (streamed) still stops at files_bytes + 1: a
// 64 MiB entry of zeros is read no further than 1 MiB.
TEST(FilesIn, AZipBombIsRefusedBeforeItIsInflated)
{
    const auto bomb = makeArchive(ArchiveKind::Zip, {{.path = "zeros", .zeros = 64 * mebibyte}});
    EXPECT_LT(bomb.size(), mebibyte);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(refused(withArchive(bomb), limits(100, mebibyte)),
              (FilesRefusal{413, "archive entry \"zeros\" takes the files past files_bytes "
                                 "(1048576 bytes)."}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    const auto tarBomb =
        makeArchive(ArchiveKind::TarXz, {{.path = "zeros", .zeros = 64 * mebibyte}});
    EXPECT_EQ(refused(withArchive(tarBomb), limits(100, mebibyte)).status, 413);
}

// Inner archives are files like any other: what counts is their own bytes, never what they
// would inflate to.
TEST(FilesIn, NestedArchivesAreJustFiles)
{
    const auto inner = makeArchive(ArchiveKind::Zip, {{.path = "zeros", .zeros = 16 * mebibyte}});
    std::vector<ArchiveItem> items;
    for (int i = 0; i < 16; ++i)
    {
        items.push_back({.path = "layer/" + std::to_string(i) + ".zip", .content = inner});
    }
    const auto outer = makeArchive(ArchiveKind::Zip, items);
    const auto bundle = readTar(bundled(withArchive(outer), limits(100, 16 * inner.size())));
    ASSERT_EQ(bundle.size(), 17U);
    EXPECT_EQ(bundle[1], file("layer/0.zip", inner));
    EXPECT_EQ(refused(withArchive(outer), limits(100, 16 * inner.size() - 1)).status, 413);
}

TEST(FilesIn, TheEntryMustBeOneOfTheFiles)
{
    FilesIn in;
    in.files = {{"files[0].path", "src/main.py", ""}};
    in.entry = "main.py";
    EXPECT_EQ(refused(in).message, "entry \"main.py\" names none of the files.");
    in.entry = "src";
    EXPECT_EQ(refused(in).status, 400);
    in.entry = "../main.py";
    EXPECT_EQ(refused(in).message, "entry \"../main.py\" has a \"..\" segment.");
    in.files.clear();
    in.entry = "main.py";
    EXPECT_EQ(refused(in).status, 400);
}

TEST(FilesIn, Base64)
{
    EXPECT_EQ(decodeBase64("aGVsbG8="), "hello");
    EXPECT_EQ(decodeBase64("aGVsbG8"), "hello");
    EXPECT_EQ(decodeBase64("aGVs\nbG8h"), "hell"
                                          "o!");
    EXPECT_EQ(decodeBase64(""), "");
    EXPECT_EQ(decodeBase64("AP8B"), std::string("\0\xff\x01", 3));
    EXPECT_EQ(decodeBase64("aGVsbG8=x"), std::nullopt);
    EXPECT_EQ(decodeBase64("aGVsbG8=="), std::nullopt);
    EXPECT_EQ(decodeBase64("a"), std::nullopt);
    EXPECT_EQ(decodeBase64("a*b="), std::nullopt);
    EXPECT_EQ(decodeBase64("aGVsbG8-"), std::nullopt);
}

} // namespace
} // namespace pyrunner::files
