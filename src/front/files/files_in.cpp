#include "front/files/files_in.hpp"

#include "common/file_paths.hpp"
#include "common/utf8.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

namespace pyrunner::files
{
namespace
{

constexpr std::uint64_t mebibyte = 1024ULL * 1024ULL;
constexpr std::string_view outDir = "out";
constexpr std::size_t readChunkBytes = std::size_t{64} * 1024;

struct ReadFree
{
    void operator()(archive* handle) const { archive_read_free(handle); }
};
struct WriteFree
{
    void operator()(archive* handle) const { archive_write_free(handle); }
};
struct EntryFree
{
    void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};
using ReadArchive = std::unique_ptr<archive, ReadFree>;
using WriteArchive = std::unique_ptr<archive, WriteFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

// Cut short as well, so that a sentence naming two paths stays one a person reads.
std::string quoted(std::string_view path)
{
    constexpr std::size_t shownBytes = 160;
    std::string text(1, '"');
    text += core::excerpt(core::displayPath(path), shownBytes);
    text += '"';
    return text;
}

std::string named(const std::string& label, std::string_view path)
{
    return label + " " + quoted(path);
}

// The checked files, and every directory they imply, with who named each.
class Tree
{
  public:
    explicit Tree(const FilesLimits& limits) : limits_(limits) {}

    std::optional<FilesRefusal> checkPath(const std::string& label, std::string_view path) const
    {
        if (auto problem = filesPathProblem(path))
        {
            return FilesRefusal{400, named(label, path) + " " + *problem + "."};
        }
        return std::nullopt;
    }

    // A file about to be read: its place in the tree and its turn in files_count.
    std::optional<FilesRefusal> claimFile(const std::string& label, const std::string& path)
    {
        if (auto refusal = checkPath(label, path))
        {
            return refusal;
        }
        if (const auto file = files_.find(path); file != files_.end())
        {
            return FilesRefusal{400, named(label, path) + " is also " + file->second + "."};
        }
        if (const auto dir = dirs_.find(path); dir != dirs_.end())
        {
            return FilesRefusal{400,
                                named(label, path) + " is a directory of " + dir->second + "."};
        }
        if (auto refusal = parentsFree(label, path))
        {
            return refusal;
        }
        if (files_.size() >= limits_.count)
        {
            return FilesRefusal{413, named(label, path) + " is one file more than files_count (" +
                                         std::to_string(limits_.count) + ") allows."};
        }
        for (auto slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1))
        {
            dirs_.emplace(path.substr(0, slash), named(label, path));
        }
        files_.emplace(path, named(label, path));
        return std::nullopt;
    }

    std::optional<FilesRefusal> claimDirectory(const std::string& label, const std::string& path)
    {
        if (auto refusal = checkPath(label, path))
        {
            return refusal;
        }
        if (const auto file = files_.find(path); file != files_.end())
        {
            return FilesRefusal{400, named(label, path) + " is a directory but " + file->second +
                                         " is a file."};
        }
        return parentsFree(label, path);
    }

    // Counts `bytes` more of the file `label`/`path` against the smaller of files_bytes and
    // disk_mb.
    std::optional<FilesRefusal> addBytes(const std::string& label, std::string_view path,
                                         std::uint64_t bytes)
    {
        bytes_ += bytes;
        if (bytes_ > limits_.bytes)
        {
            return FilesRefusal{413, named(label, path) + " takes the files past files_bytes (" +
                                         std::to_string(limits_.bytes) + " bytes)."};
        }
        if (bytes_ > limits_.diskBytes)
        {
            return FilesRefusal{413, named(label, path) +
                                         " takes the files past what fits in disk_mb (" +
                                         std::to_string(limits_.diskBytes / mebibyte) + " MiB)."};
        }
        return std::nullopt;
    }

    // Room left before addBytes refuses: a reader stops one byte past it.
    std::uint64_t bytesLeft() const
    {
        return std::min(limits_.bytes, limits_.diskBytes) - std::min(bytes_, limits_.bytes);
    }

  private:
    std::optional<FilesRefusal> parentsFree(const std::string& label, const std::string& path) const
    {
        for (auto slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1))
        {
            if (const auto file = files_.find(path.substr(0, slash)); file != files_.end())
            {
                return FilesRefusal{400, named(label, path) + " is under " + file->second +
                                             ", which is a file."};
            }
        }
        return std::nullopt;
    }

    FilesLimits limits_;
    std::map<std::string, std::string> files_;
    std::map<std::string, std::string> dirs_;
    std::uint64_t bytes_ = 0;
};

// "./a/b/" -> "a/b": how tar and zip tools write names that are fine as they mean them.
std::string archivePath(std::string_view raw, bool directory)
{
    while (raw.starts_with("./"))
    {
        raw.remove_prefix(2);
    }
    if (directory)
    {
        while (raw.ends_with('/'))
        {
            raw.remove_suffix(1);
        }
    }
    return std::string(raw);
}

std::string_view kindOf(archive_entry* entry)
{
    if (archive_entry_hardlink(entry) != nullptr)
    {
        return "a hard link";
    }
    switch (archive_entry_filetype(entry))
    {
    case AE_IFREG:
    case AE_IFDIR:
        return "";
    case AE_IFLNK:
        return "a symlink";
    case AE_IFCHR:
    case AE_IFBLK:
        return "a device";
    case AE_IFIFO:
        return "a FIFO";
    case AE_IFSOCK:
        return "a socket";
    default:
        return "neither a file nor a directory";
    }
}

// The archive's regular files, every entry checked before any is accepted.
std::optional<FilesRefusal> readArchive(std::string_view bytes, Tree& tree,
                                        std::vector<FileIn>& out)
{
    const ReadArchive reader(archive_read_new());
    if (!reader)
    {
        throw std::bad_alloc();
    }
    archive* a = reader.get();
    // The formats and filters the API names, and nothing else: every other reader is more
    // code a hostile upload could reach.
    archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_filter_none(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_xz(a);
    const auto refused = [a](const std::string& what) {
        const char* reason = archive_error_string(a);
        constexpr std::size_t reasonBytes = 120;
        return FilesRefusal{
            400, what + (reason != nullptr ? " (" + core::excerpt(reason, reasonBytes) + ")" : "") +
                     "."};
    };
    if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK)
    {
        return refused("The archive is not a zip, tar, tar.gz or tar.xz file");
    }
    std::string buffer(readChunkBytes, '\0');
    for (std::size_t index = 0;; ++index)
    {
        archive_entry* entry = nullptr;
        const int status = archive_read_next_header(a, &entry);
        if (status == ARCHIVE_EOF)
        {
            break;
        }
        if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
        {
            return refused("The archive could not be read past entry " + std::to_string(index));
        }
        // The name as UTF-8, whatever the archive's own charset; one that does not convert
        // stays the bytes it was, which the path rule then refuses.
        const char* rawName = archive_entry_pathname_utf8(entry);
        if (rawName == nullptr)
        {
            rawName = archive_entry_pathname(entry);
        }
        const std::string_view raw = rawName != nullptr ? rawName : "";
        const std::string label = "archive entry";
        if (const auto kind = kindOf(entry); !kind.empty())
        {
            return FilesRefusal{400, named(label, raw) + " is " + std::string(kind) +
                                         "; an archive may hold only files and directories."};
        }
        const bool directory = archive_entry_filetype(entry) == AE_IFDIR;
        const auto path = archivePath(raw, directory);
        if (directory)
        {
            // "./" itself is the working directory.
            if (raw.starts_with("./") && path.empty())
            {
                continue;
            }
            if (auto refusal = tree.claimDirectory(label, path))
            {
                return refusal;
            }
            continue;
        }
        if (auto refusal = tree.claimFile(label, path))
        {
            return refusal;
        }
        // A declared size past the limit is refused before a byte is inflated.
        if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > 0 &&
            static_cast<std::uint64_t>(archive_entry_size(entry)) > tree.bytesLeft())
        {
            return tree.addBytes(label, path,
                                 static_cast<std::uint64_t>(archive_entry_size(entry)));
        }
        std::string content;
        for (;;)
        {
            const auto got = archive_read_data(a, buffer.data(), buffer.size());
            if (got < 0)
            {
                return refused(named(label, path) + " could not be read");
            }
            if (got == 0)
            {
                break;
            }
            const auto count = static_cast<std::size_t>(got);
            if (auto refusal = tree.addBytes(label, path, count))
            {
                return refusal;
            }
            content.append(buffer.data(), count);
        }
        out.push_back(FileIn{label, path, std::move(content)});
    }
    return std::nullopt;
}

la_ssize_t appendTo(archive* /*handle*/, void* data, const void* buffer, size_t length)
{
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

void check(archive* a, int status)
{
    if (status != ARCHIVE_OK)
    {
        const char* reason = archive_error_string(a);
        throw std::runtime_error(std::string("writing the files bundle failed: ") +
                                 (reason != nullptr ? reason : "unknown error"));
    }
}

void writeEntry(archive* a, const std::string& path, bool directory, std::string_view content)
{
    const Entry entry(archive_entry_new());
    if (!entry)
    {
        throw std::bad_alloc();
    }
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry.get(), directory ? 0700 : 0600);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_size(entry.get(), directory ? 0 : static_cast<la_int64_t>(content.size()));
    check(a, archive_write_header(a, entry.get()));
    if (!content.empty() && archive_write_data(a, content.data(), content.size()) !=
                                static_cast<la_ssize_t>(content.size()))
    {
        check(a, ARCHIVE_FATAL);
    }
}

std::string writeBundle(std::vector<FileIn> files)
{
    std::sort(files.begin(), files.end(),
              [](const FileIn& l, const FileIn& r) { return l.path < r.path; });
    std::string bundle;
    const WriteArchive writer(archive_write_new());
    if (!writer)
    {
        throw std::bad_alloc();
    }
    archive* a = writer.get();
    check(a, archive_write_set_format_pax_restricted(a));
    // Names go in as the bytes they are (checked UTF-8): libarchive would otherwise convert
    // them through the process's locale, the C locale here and in the unit, which has no
    // letters beyond ASCII.
    check(a, archive_write_set_options(a, "hdrcharset=BINARY"));
    check(a, archive_write_add_filter_none(a));
    check(a, archive_write_set_bytes_in_last_block(a, 1));
    check(a, archive_write_open(a, &bundle, nullptr, appendTo, nullptr));
    std::set<std::string> written;
    for (const auto& file : files)
    {
        for (auto slash = file.path.find('/'); slash != std::string::npos;
             slash = file.path.find('/', slash + 1))
        {
            auto dir = file.path.substr(0, slash);
            if (written.insert(dir).second)
            {
                writeEntry(a, dir, true, {});
            }
        }
        writeEntry(a, file.path, false, file.content);
    }
    check(a, archive_write_close(a));
    return bundle;
}

} // namespace

std::optional<std::string> filesPathProblem(std::string_view path)
{
    if (auto problem = core::filePathProblem(path))
    {
        return problem;
    }
    if (path == outDir || (path.starts_with(outDir) && path.substr(outDir.size()).starts_with('/')))
    {
        return std::string("is under out/, which is kept for the run's reports");
    }
    return std::nullopt;
}

std::variant<std::string, FilesRefusal> makeBundle(FilesIn in, const FilesLimits& limits)
{
    if (in.empty())
    {
        if (!in.entry.empty())
        {
            return FilesRefusal{400, "entry " + quoted(in.entry) +
                                         " names a script among the files, but no files came."};
        }
        return std::string{};
    }
    Tree tree(limits);
    std::vector<FileIn> accepted;
    for (auto& file : in.files)
    {
        if (auto refusal = tree.claimFile(file.label, file.path))
        {
            return *refusal;
        }
        if (auto refusal = tree.addBytes(file.label, file.path, file.content.size()))
        {
            return *refusal;
        }
        accepted.push_back(std::move(file));
    }
    if (in.archive)
    {
        if (auto refusal = readArchive(*in.archive, tree, accepted))
        {
            return *refusal;
        }
    }
    if (!in.entry.empty())
    {
        if (auto problem = filesPathProblem(in.entry))
        {
            return FilesRefusal{400, "entry " + quoted(in.entry) + " " + *problem + "."};
        }
        if (std::none_of(accepted.begin(), accepted.end(),
                         [&in](const FileIn& file) { return file.path == in.entry; }))
        {
            return FilesRefusal{400, "entry " + quoted(in.entry) + " names none of the files."};
        }
    }
    return writeBundle(std::move(accepted));
}

std::optional<std::string> decodeBase64(std::string_view text)
{
    constexpr auto table = [] {
        std::array<int, 256> values{};
        values.fill(-1);
        constexpr std::string_view alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < alphabet.size(); ++i)
        {
            values.at(static_cast<unsigned char>(alphabet[i])) = static_cast<int>(i);
        }
        return values;
    }();
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t buffer = 0;
    int bits = 0;
    std::size_t symbols = 0;
    std::size_t padding = 0;
    for (const char c : text)
    {
        // Line breaks, as MIME-style encoders write them, carry nothing.
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
        {
            continue;
        }
        if (c == '=')
        {
            ++padding;
            continue;
        }
        const int value = table.at(static_cast<unsigned char>(c));
        if (value < 0 || padding > 0)
        {
            return std::nullopt;
        }
        ++symbols;
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
        }
    }
    // Padding, when given, must complete the last group; a lone symbol is never whole bytes.
    const bool wholeGroups = (symbols + padding) % 4 == 0;
    if (symbols % 4 == 1 || padding > 2 || (padding > 0 && !wholeGroups))
    {
        return std::nullopt;
    }
    return out;
}

} // namespace pyrunner::files
