#pragma once

// Archives of every kind the API takes, and of kinds it refuses, built in memory.

#include <archive.h>
#include <archive_entry.h>
#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pyrunner::testing
{

enum class ArchiveKind
{
    Zip,
    Tar,
    TarGz,
    TarXz,
    Tar7z,
};

struct ArchiveItem
{
    std::string path;
    std::string content = {};
    unsigned type = AE_IFREG;
    // A symlink's target, or the path a hard link names.
    std::string link = {};
    bool hardLink = false;
    // Written as this many zero bytes instead of content, a chunk at a time.
    std::uint64_t zeros = 0;
};

inline std::string makeArchive(ArchiveKind kind, const std::vector<ArchiveItem>& items)
{
    struct Free
    {
        void operator()(archive* a) const { archive_write_free(a); }
    };
    struct EntryFree
    {
        void operator()(archive_entry* e) const { archive_entry_free(e); }
    };
    std::string bytes;
    const std::unique_ptr<archive, Free> writer(archive_write_new());
    archive* a = writer.get();
    if (kind == ArchiveKind::Zip)
    {
        archive_write_set_format_zip(a);
    }
    else if (kind == ArchiveKind::Tar7z)
    {
        archive_write_set_format_7zip(a);
    }
    else
    {
        archive_write_set_format_pax_restricted(a);
    }
    if (kind == ArchiveKind::TarGz)
    {
        archive_write_add_filter_gzip(a);
    }
    if (kind == ArchiveKind::TarXz)
    {
        archive_write_add_filter_xz(a);
    }
    archive_write_set_bytes_in_last_block(a, 1);
    const auto append = [](archive* /*a*/, void* data, const void* buffer, size_t length) {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
    };
    if (archive_write_open(a, &bytes, nullptr, append, nullptr) != ARCHIVE_OK)
    {
        throw std::runtime_error(archive_error_string(a));
    }
    for (const auto& item : items)
    {
        const std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), item.path.c_str());
        archive_entry_set_filetype(entry.get(), item.type);
        archive_entry_set_perm(entry.get(), 0644);
        const auto size = item.zeros > 0 ? item.zeros : item.content.size();
        archive_entry_set_size(entry.get(), item.type == AE_IFREG && !item.hardLink
                                                ? static_cast<la_int64_t>(size)
                                                : 0);
        if (item.type == AE_IFLNK)
        {
            archive_entry_set_symlink(entry.get(), item.link.c_str());
        }
        if (item.hardLink)
        {
            archive_entry_set_hardlink(entry.get(), item.link.c_str());
        }
        if (item.type == AE_IFCHR)
        {
            archive_entry_set_rdevmajor(entry.get(), 1);
            archive_entry_set_rdevminor(entry.get(), 3);
        }
        if (archive_write_header(a, entry.get()) != ARCHIVE_OK)
        {
            throw std::runtime_error(archive_error_string(a));
        }
        if (item.zeros > 0)
        {
            const std::string chunk(1024 * 1024, '\0');
            for (std::uint64_t left = item.zeros; left > 0;)
            {
                const auto n = std::min<std::uint64_t>(left, chunk.size());
                archive_write_data(a, chunk.data(), n);
                left -= n;
            }
        }
        else if (!item.content.empty())
        {
            archive_write_data(a, item.content.data(), item.content.size());
        }
    }
    archive_write_close(a);
    return bytes;
}

// Every entry of a tar: path, type and content, in order.
struct ReadItem
{
    std::string path;
    unsigned type;
    unsigned mode;
    std::string content;
    la_int64_t uid;
    la_int64_t mtime;

    bool operator==(const ReadItem&) const = default;
    friend std::ostream& operator<<(std::ostream& out, const ReadItem& item)
    {
        return out << item.path << " type " << item.type << " mode " << item.mode << " uid "
                   << item.uid << " mtime " << item.mtime << " " << item.content.size() << " bytes";
    }
};

inline std::vector<ReadItem> readTar(const std::string& bytes)
{
    struct Free
    {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    const std::unique_ptr<archive, Free> reader(archive_read_new());
    archive* a = reader.get();
    archive_read_support_format_tar(a);
    if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK)
    {
        throw std::runtime_error(archive_error_string(a));
    }
    std::vector<ReadItem> items;
    archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK)
    {
        ReadItem item{archive_entry_pathname(entry), archive_entry_filetype(entry),
                      archive_entry_perm(entry),     {},
                      archive_entry_uid(entry),      archive_entry_mtime(entry)};
        std::string buffer(4096, '\0');
        for (la_ssize_t n = 0; (n = archive_read_data(a, buffer.data(), buffer.size())) > 0;)
        {
            item.content.append(buffer.data(), static_cast<std::size_t>(n));
        }
        items.push_back(std::move(item));
    }
    return items;
}

} // namespace pyrunner::testing
