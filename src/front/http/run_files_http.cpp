#include "front/http/run_files_http.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <array>
#include <cctype>
#include <memory>
#include <utility>

namespace pyrunner::http
{
namespace
{

struct Extension
{
    std::string_view suffix;
    std::string_view mediaType;
};

constexpr std::array<Extension, 17> extensions{{
    {".csv", "text/csv"},
    {".html", "text/html"},
    {".htm", "text/html"},
    {".txt", "text/plain"},
    {".md", "text/markdown"},
    {".log", "text/plain"},
    {".json", "application/json"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".svg", "image/svg+xml"},
    {".pdf", "application/pdf"},
    {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {".parquet", "application/vnd.apache.parquet"},
    {".zip", "application/zip"},
    {".xml", "application/xml"},
}};

std::string lowercase(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

int hexValue(char c)
{
    constexpr int ten = 10;
    if (c >= '0' && c <= '9')
    {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f')
    {
        return c - 'a' + ten;
    }
    if (c >= 'A' && c <= 'F')
    {
        return c - 'A' + ten;
    }
    return -1;
}

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

la_ssize_t appendTo(archive* /*unused*/, void* data, const void* buffer, size_t length)
{
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

} // namespace

std::string mediaTypeOf(std::string_view path)
{
    const auto name = lowercase(path.substr(path.rfind('/') + 1));
    for (const auto& [suffix, mediaType] : extensions)
    {
        if (name.size() > suffix.size() && name.ends_with(suffix))
        {
            return std::string(mediaType);
        }
    }
    return "application/octet-stream";
}

std::string contentTypeOf(std::string_view path)
{
    auto type = mediaTypeOf(path);
    if (type.starts_with("text/"))
    {
        type += "; charset=utf-8";
    }
    return type;
}

std::optional<std::string> percentDecode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i)
    {
        if (text[i] != '%')
        {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size())
        {
            return std::nullopt;
        }
        const int high = hexValue(text[i + 1]);
        const int low = hexValue(text[i + 2]);
        constexpr int nibble = 16;
        if (high < 0 || low < 0 || (high == 0 && low == 0))
        {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(high * nibble + low));
        i += 2;
    }
    return out;
}

std::optional<std::string> zipOf(const std::vector<ZipMember>& members)
{
    std::string out;
    const ArchivePtr writer(archive_write_new(), archive_write_free);
    // Names in UTF-8, flagged so (general purpose bit 11), whatever this process' locale.
    if (!writer || archive_write_set_format_zip(writer.get()) != ARCHIVE_OK ||
        archive_write_set_options(writer.get(), "zip:hdrcharset=UTF-8") != ARCHIVE_OK ||
        archive_write_open2(writer.get(), &out, nullptr, appendTo, nullptr, nullptr) != ARCHIVE_OK)
    {
        return std::nullopt;
    }
    const std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                         archive_entry_free);
    for (const auto& member : members)
    {
        const auto bytes = member.read();
        if (!bytes || !entry)
        {
            return std::nullopt;
        }
        constexpr int fileMode = 0644;
        archive_entry_clear(entry.get());
        archive_entry_set_pathname_utf8(entry.get(), member.path.c_str());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), fileMode);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes->size()));
        if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK ||
            archive_write_data(writer.get(), bytes->data(), bytes->size()) !=
                static_cast<la_ssize_t>(bytes->size()))
        {
            return std::nullopt;
        }
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
    {
        return std::nullopt;
    }
    return out;
}

} // namespace pyrunner::http
