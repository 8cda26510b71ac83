#include "helpers/bundle_unpack.hpp"

#include "common/file_paths.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <memory>
#include <string_view>

namespace pyrunner::helpers
{
namespace
{

struct ReadFree
{
    void operator()(archive* handle) const { archive_read_free(handle); }
};
struct WriteFree
{
    void operator()(archive* handle) const { archive_write_free(handle); }
};

constexpr std::string_view outDir = "out";
constexpr std::size_t copyChunkBytes = std::size_t{64} * 1024;

std::string failure(const std::string& what, archive* a)
{
    const char* reason = archive_error_string(a);
    return what + (reason != nullptr ? ": " + std::string(reason) : std::string()) + ".";
}

std::string quoted(std::string_view path)
{
    return "\"" + core::displayPath(path) + "\"";
}

// Why the bundle's entry may not be written, or nothing.
std::optional<std::string> entryProblem(archive_entry* entry)
{
    const char* rawName = archive_entry_pathname(entry);
    std::string_view path = rawName != nullptr ? rawName : "";
    const auto type = archive_entry_filetype(entry);
    if (archive_entry_hardlink(entry) != nullptr || archive_entry_symlink(entry) != nullptr ||
        (type != AE_IFREG && type != AE_IFDIR))
    {
        return "bundle entry " + quoted(path) + " is neither a file nor a directory.";
    }
    if (type == AE_IFDIR && path.ends_with('/'))
    {
        path.remove_suffix(1);
    }
    if (auto problem = core::filePathProblem(path))
    {
        return "bundle entry " + quoted(path) + " " + *problem + ".";
    }
    if (path == outDir || (path.starts_with(outDir) && path.substr(outDir.size()).starts_with('/')))
    {
        return "bundle entry " + quoted(path) + " is under out/.";
    }
    return std::nullopt;
}

std::optional<std::string> copyData(archive* reader, archive* writer, const std::string& path)
{
    std::string buffer(copyChunkBytes, '\0');
    for (;;)
    {
        const auto got = archive_read_data(reader, buffer.data(), buffer.size());
        if (got < 0)
        {
            return failure("reading bundle entry " + quoted(path) + " failed", reader);
        }
        if (got == 0)
        {
            return std::nullopt;
        }
        if (archive_write_data(writer, buffer.data(), static_cast<std::size_t>(got)) != got)
        {
            return failure("writing " + quoted(path) + " failed", writer);
        }
    }
}

} // namespace

std::optional<std::string> unpackBundle(const std::string& bundlePath)
{
    const std::unique_ptr<archive, ReadFree> reader(archive_read_new());
    const std::unique_ptr<archive, WriteFree> writer(archive_write_disk_new());
    if (!reader || !writer)
    {
        return "out of memory.";
    }
    // The front writes a plain tar and nothing else.
    archive_read_support_format_tar(reader.get());
    archive_read_support_filter_none(reader.get());
    // No owner, mode or time restore: the run's user owns what it gets, under its umask.
    archive_write_disk_set_options(
        writer.get(), ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                          ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_NO_OVERWRITE);
    constexpr std::size_t blockBytes = 10240;
    if (archive_read_open_filename(reader.get(), bundlePath.c_str(), blockBytes) != ARCHIVE_OK)
    {
        return failure("opening the bundle " + quoted(bundlePath) + " failed", reader.get());
    }
    for (;;)
    {
        archive_entry* entry = nullptr;
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF)
        {
            break;
        }
        if (status != ARCHIVE_OK)
        {
            return failure("reading the bundle failed", reader.get());
        }
        if (auto problem = entryProblem(entry))
        {
            return problem;
        }
        const std::string path = archive_entry_pathname(entry);
        if (archive_write_header(writer.get(), entry) != ARCHIVE_OK)
        {
            return failure("writing " + quoted(path) + " failed", writer.get());
        }
        if (archive_entry_filetype(entry) == AE_IFREG)
        {
            if (auto problem = copyData(reader.get(), writer.get(), path))
            {
                return problem;
            }
        }
        if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK)
        {
            return failure("finishing " + quoted(path) + " failed", writer.get());
        }
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
    {
        return failure("closing what was unpacked failed", writer.get());
    }
    return std::nullopt;
}

} // namespace pyrunner::helpers
