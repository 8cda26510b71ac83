#include "fake_run_service.hpp"
#include "front/http/api.hpp"
#include "front/http/router.hpp"
#include "front/http/run_files_http.hpp"

#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

namespace pyrunner::http
{
namespace
{

using testing::FakeRunService;

TEST(MediaType, FollowsTheExtensionAloneWithACharsetForText)
{
    EXPECT_EQ(mediaTypeOf("report.html"), "text/html");
    EXPECT_EQ(mediaTypeOf("deep/DATA.CSV"), "text/csv");
    EXPECT_EQ(mediaTypeOf("chart.png"), "image/png");
    EXPECT_EQ(mediaTypeOf("noextension"), "application/octet-stream");
    EXPECT_EQ(mediaTypeOf(".png"), "application/octet-stream");
    EXPECT_EQ(mediaTypeOf("a.png/b"), "application/octet-stream");
    EXPECT_EQ(contentTypeOf("report.html"), "text/html; charset=utf-8");
    EXPECT_EQ(contentTypeOf("chart.png"), "image/png");
}

TEST(PercentDecode, DecodesEscapesAndRefusesMalformedOnesAndNul)
{
    EXPECT_EQ(percentDecode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(percentDecode("%C3%A9.txt"), "\xC3\xA9.txt");
    EXPECT_EQ(percentDecode("%"), std::nullopt);
    EXPECT_EQ(percentDecode("%4"), std::nullopt);
    EXPECT_EQ(percentDecode("%zz"), std::nullopt);
    EXPECT_EQ(percentDecode("%00"), std::nullopt);
}

TEST(FileRoutes, TakeTheRestOfThePathAfterFiles)
{
    const auto matched = std::get<Matched>(route("GET", "/runs/abc/files/deep/a%20b.txt"));
    EXPECT_EQ(matched.id, RouteId::GetFile);
    EXPECT_EQ(matched.runId, "abc");
    EXPECT_EQ(matched.filePath, "deep/a%20b.txt");
    EXPECT_EQ(std::get<Matched>(route("GET", "/runs/abc/files.zip")).id, RouteId::GetFilesZip);
    EXPECT_TRUE(std::holds_alternative<NotFound>(route("GET", "/runs/abc/files")));
    EXPECT_TRUE(std::holds_alternative<NotFound>(route("GET", "/runs/abc/files//x")));
    EXPECT_TRUE(std::holds_alternative<MethodNotAllowed>(route("DELETE", "/runs/abc/files/x")));
}

std::map<std::string, std::string> unzip(const std::string& zip)
{
    // libarchive gives names in the locale's encoding; a test process starts in "C".
    const std::unique_ptr<char, void (*)(char*)> restore(
        ::strdup(std::setlocale(LC_CTYPE, nullptr)), [](char* old) {
            std::setlocale(LC_CTYPE, old);
            std::free(old);
        });
    std::setlocale(LC_CTYPE, "C.UTF-8");
    std::map<std::string, std::string> members;
    const std::unique_ptr<archive, int (*)(archive*)> reader(archive_read_new(), archive_read_free);
    archive_read_support_format_zip(reader.get());
    EXPECT_EQ(archive_read_open_memory(reader.get(), zip.data(), zip.size()), ARCHIVE_OK);
    archive_entry* entry = nullptr;
    // A warning is libarchive's about this process' locale, not about the zip.
    for (int status = archive_read_next_header(reader.get(), &entry);
         status == ARCHIVE_OK || status == ARCHIVE_WARN;
         status = archive_read_next_header(reader.get(), &entry))
    {
        std::string data(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
        archive_read_data(reader.get(), data.data(), data.size());
        members[archive_entry_pathname(entry)] = data;
    }
    return members;
}

class FileApiTest : public ::testing::Test
{
  protected:
    Response call(std::string_view path)
    {
        std::vector<Response> responses;
        api.handle(Request{"GET", path, "", "", {}},
                   [&responses](Response response) { responses.push_back(std::move(response)); });
        EXPECT_EQ(responses.size(), 1U);
        return responses.at(0);
    }

    std::string finishedWithFiles()
    {
        std::vector<Response> ignored;
        api.handle(Request{"POST",
                           "/run-json/",
                           "application/json",
                           R"json({"code": "print(1)", "wait": false})json",
                           {}},
                   [&ignored](Response response) { ignored.push_back(std::move(response)); });
        service.finish("run-1", core::RunStatus::Succeeded, {});
        service.setFiles("run-1", {{"report.html", 5, "ab12", 0}, {"d/é x.csv", 3, "cd34", 1}});
        service.collected[{"run-1", 0}] = "<p>1</p>";
        service.collected[{"run-1", 1}] = "a,b";
        return "run-1";
    }

    static std::string header(const Response& response, std::string_view name)
    {
        for (const auto& [key, value] : response.headers)
        {
            if (key == name)
            {
                return value;
            }
        }
        return "<none>";
    }

    FakeRunService service;
    Api api{service, ApiOptions{1024, 256, core::LimitPolicy::forCpus(1)}};
};

TEST_F(FileApiTest, AFileIsServedByItsListedNameWithItsTypeDigestAndASandbox)
{
    const auto id = finishedWithFiles();
    const auto response = call("/runs/" + id + "/files/report.html");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "<p>1</p>");
    EXPECT_EQ(response.contentType, "text/html; charset=utf-8");
    EXPECT_EQ(header(response, "ETag"), "\"ab12\"");
    EXPECT_EQ(header(response, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(response, "Content-Security-Policy"), "sandbox");
    EXPECT_EQ(call("/runs/" + id + "/files/d/%C3%A9%20x.csv").body, "a,b");
}

TEST_F(FileApiTest, ANameNotListedOrAnUnknownRunIs404)
{
    const auto id = finishedWithFiles();
    EXPECT_EQ(call("/runs/" + id + "/files/0").status, 404);
    EXPECT_EQ(call("/runs/" + id + "/files/missing.txt").status, 404);
    EXPECT_EQ(call("/runs/" + id + "/files/report.html%00").status, 404);
    EXPECT_EQ(call("/runs/nosuchrun/files/report.html").status, 404);
    EXPECT_EQ(call("/runs/nosuchrun/files.zip").status, 404);
}

TEST_F(FileApiTest, TheZipHoldsEveryFileAtItsPath)
{
    const auto id = finishedWithFiles();
    const auto response = call("/runs/" + id + "/files.zip");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.contentType, "application/zip");
    EXPECT_EQ(unzip(response.body), (std::map<std::string, std::string>{{"report.html", "<p>1</p>"},
                                                                        {"d/é x.csv", "a,b"}}));
}

} // namespace
} // namespace pyrunner::http
