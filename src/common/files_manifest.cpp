#include "common/files_manifest.hpp"

#include "common/file_paths.hpp"
#include "common/text.hpp"
#include "common/utf8.hpp"

#include <array>

namespace pyrunner::core
{
namespace
{

constexpr std::string_view header = "pyrunner-files 1";
constexpr std::array<std::string_view, 6> reasons = {"symlink", "fifo",         "socket",
                                                     "device",  "invalid_name", "unreadable"};

bool isReason(std::string_view reason)
{
    for (const auto known : reasons)
    {
        if (known == reason)
        {
            return true;
        }
    }
    return false;
}

bool isShowable(std::string_view path)
{
    if (path.size() > maxPathBytes + 3 || !isValidUtf8(path))
    {
        return false;
    }
    for (const char c : path)
    {
        if (static_cast<unsigned char>(c) < ' ' || c == '\x7f')
        {
            return false;
        }
    }
    return true;
}

// "<field> <rest>": the field and the rest, or nothing without a space.
std::optional<std::pair<std::string_view, std::string_view>> field(std::string_view line)
{
    const auto space = line.find(' ');
    if (space == std::string_view::npos)
    {
        return std::nullopt;
    }
    return std::pair{line.substr(0, space), line.substr(space + 1)};
}

bool parseFile(std::string_view rest, FilesManifest& manifest)
{
    const auto index = field(rest);
    if (!index)
    {
        return false;
    }
    const auto size = field(index->second);
    if (!size)
    {
        return false;
    }
    const auto indexValue = parseUnsigned(index->first);
    const auto sizeValue = parseUnsigned(size->first);
    if (!indexValue || !sizeValue || *indexValue != manifest.files.size() ||
        filePathProblem(size->second))
    {
        return false;
    }
    manifest.files.push_back(
        {std::string(size->second), *sizeValue, static_cast<std::uint32_t>(*indexValue)});
    return true;
}

bool parseSkipped(std::string_view rest, FilesManifest& manifest)
{
    const auto reason = field(rest);
    if (!reason || !isReason(reason->first) || !isShowable(reason->second))
    {
        return false;
    }
    manifest.skipped.push_back({std::string(reason->second), std::string(reason->first)});
    return true;
}

} // namespace

std::string formatManifest(const FilesManifest& manifest)
{
    std::string text(header);
    text += "\ntruncated ";
    text += manifest.truncated ? "1" : "0";
    text += '\n';
    for (const auto& file : manifest.files)
    {
        text += "file " + std::to_string(file.index) + ' ' + std::to_string(file.size) + ' ' +
                file.path + '\n';
    }
    for (const auto& skipped : manifest.skipped)
    {
        text += "skipped " + skipped.reason + ' ' + skipped.path + '\n';
    }
    return text;
}

std::optional<FilesManifest> parseManifest(std::string_view text)
{
    if (!text.starts_with(header) || !text.ends_with('\n'))
    {
        return std::nullopt;
    }
    FilesManifest manifest;
    bool valid = true;
    bool sawTruncated = false;
    std::size_t lineNumber = 0;
    forEachLine(text, [&](std::string_view line) {
        ++lineNumber;
        if (!valid || lineNumber == 1)
        {
            return;
        }
        const auto parts = field(line);
        if (parts && parts->first == "truncated" && !sawTruncated && lineNumber == 2)
        {
            sawTruncated = parts->second == "0" || parts->second == "1";
            manifest.truncated = parts->second == "1";
            valid = sawTruncated;
        }
        else if (parts && parts->first == "file" && sawTruncated && manifest.skipped.empty())
        {
            valid = parseFile(parts->second, manifest);
        }
        else if (parts && parts->first == "skipped" && sawTruncated)
        {
            valid = parseSkipped(parts->second, manifest);
        }
        else
        {
            valid = false;
        }
    });
    if (!valid || !sawTruncated || header != text.substr(0, text.find('\n')))
    {
        return std::nullopt;
    }
    return manifest;
}

} // namespace pyrunner::core
