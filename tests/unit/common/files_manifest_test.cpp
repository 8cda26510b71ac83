#include "common/file_paths.hpp"
#include "common/files_manifest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace
{

using pyrunner::core::displayPath;
using pyrunner::core::filePathProblem;
using pyrunner::core::FilesManifest;
using pyrunner::core::formatManifest;
using pyrunner::core::parseManifest;

TEST(FilePathProblem, RelativeUtf8PathsPass)
{
    EXPECT_EQ(filePathProblem("report.txt"), std::nullopt);
    EXPECT_EQ(filePathProblem("plots/2024/figure 1.png"), std::nullopt);
    EXPECT_EQ(filePathProblem("r\xC3\xA9sum\xC3\xA9/\xF0\x9F\x98\x80"), std::nullopt);
    EXPECT_EQ(filePathProblem(std::string(255, 'a')), std::nullopt);
    EXPECT_EQ(filePathProblem(std::string(255, 'a') + '/' + std::string(255, 'b') + '/' +
                              std::string(255, 'c') + '/' + std::string(255, 'd')),
              std::nullopt);
}

TEST(FilePathProblem, PathsThatCouldLeaveOrConfuseTheDirectoryFail)
{
    for (const std::string_view path :
         {"", "/etc/passwd", "a//b", "a/", "./a", "a/../b", "..", "."})
    {
        EXPECT_NE(filePathProblem(path), std::nullopt) << path;
    }
}

TEST(FilePathProblem, ControlCharactersAndInvalidUtf8Fail)
{
    EXPECT_EQ(filePathProblem("bad\nname"), "holds a control character");
    EXPECT_NE(filePathProblem(std::string("nul\0name", 8)), std::nullopt);
    EXPECT_NE(filePathProblem("tab\tname"), std::nullopt);
    EXPECT_NE(filePathProblem("del\x7fname"), std::nullopt);
    EXPECT_EQ(filePathProblem("bad\xffname"), "is not valid UTF-8");
    // An overlong encoding of '/'.
    EXPECT_NE(filePathProblem("a\xC0\xAF"), std::nullopt);
}

TEST(FilePathProblem, LongSegmentsAndPathsFail)
{
    EXPECT_NE(filePathProblem(std::string(256, 'a')), std::nullopt);
    std::string path = "a";
    while (path.size() < 1024)
    {
        path += "/a";
    }
    path.resize(1024);
    if (path.back() == '/')
    {
        path.back() = 'b';
    }
    EXPECT_EQ(filePathProblem(path), std::nullopt);
    EXPECT_NE(filePathProblem(path + "c"), std::nullopt);
}

TEST(DisplayPath, ValidPathsShowUnchanged)
{
    EXPECT_EQ(displayPath("plots/r\xC3\xA9sum\xC3\xA9.png"), "plots/r\xC3\xA9sum\xC3\xA9.png");
}

TEST(DisplayPath, ControlCharactersAndInvalidBytesShowAsReplacementCharacters)
{
    EXPECT_EQ(displayPath("bad\nname"), "bad\xEF\xBF\xBDname");
    EXPECT_EQ(displayPath("bad\xffname"), "bad\xEF\xBF\xBDname");
    EXPECT_EQ(filePathProblem(displayPath("bad\nname")), std::nullopt);
}

TEST(DisplayPath, VeryLongPathsAreCut)
{
    const auto shown = displayPath(std::string(5000, 'a'));
    EXPECT_EQ(shown, std::string(1024, 'a') + "...");
}

TEST(DisplayPath, ReplacementCharactersDoNotMakeItLonger)
{
    const auto shown = displayPath(std::string(1024, '\xff'));
    EXPECT_LE(shown.size(), 1024U + 3);
    EXPECT_TRUE(shown.ends_with("\xEF\xBF\xBD..."));
    FilesManifest manifest;
    manifest.skipped = {{shown, "invalid_name"},
                        {displayPath(std::string(300, '\n')), "invalid_name"}};
    EXPECT_EQ(parseManifest(formatManifest(manifest)), manifest);
}

FilesManifest sample()
{
    FilesManifest manifest;
    manifest.files = {{"report.txt", 6, 0}, {"plots/fig 1.png", 123456789012, 1}};
    manifest.skipped = {{"link", "symlink"},
                        {"pipe", "fifo"},
                        {"bad\xEF\xBF\xBDname", "invalid_name"},
                        {std::string(1024, 'a') + "...", "invalid_name"}};
    manifest.truncated = true;
    return manifest;
}

TEST(FilesManifest, RoundTripsThroughItsText)
{
    EXPECT_EQ(parseManifest(formatManifest(sample())), sample());
    EXPECT_EQ(parseManifest(formatManifest(FilesManifest{})), FilesManifest{});
}

TEST(FilesManifest, TextIsOneLinePerEntry)
{
    FilesManifest manifest;
    manifest.files = {{"a.txt", 5, 0}};
    manifest.skipped = {{"l", "symlink"}};
    EXPECT_EQ(formatManifest(manifest),
              "pyrunner-files 1\ntruncated 0\nfile 0 5 a.txt\nskipped symlink l\n");
}

TEST(FilesManifest, MalformedTextIsRefused)
{
    const std::string head = "pyrunner-files 1\ntruncated 0\n";
    for (const auto& text : {
             std::string(""),
             std::string("pyrunner-files 2\ntruncated 0\n"),
             std::string("pyrunner-files 1\n"),
             std::string("pyrunner-files 1\ntruncated 0"),
             std::string("pyrunner-files 1\ntruncated 2\n"),
             head + "file 1 5 a\n",
             head + "file 0 5 /etc/passwd\n",
             head + "file 0 5 ../a\n",
             head + "file 0 x a\n",
             head + "skipped symlink l\nfile 0 5 a\n",
             head + "skipped other l\n",
             head + "skipped symlink bad\xffname\n",
             head + "unknown line\n",
         })
    {
        EXPECT_EQ(parseManifest(text), std::nullopt) << text;
    }
}

} // namespace
