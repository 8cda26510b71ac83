#include "common/file_paths.hpp"

#include "common/utf8.hpp"

namespace pyrunner::core
{
namespace
{

constexpr unsigned char firstPrintable = 0x20;
constexpr unsigned char deleteCharacter = 0x7f;
constexpr std::string_view replacement = "\xEF\xBF\xBD";

bool isControl(unsigned char c)
{
    return c < firstPrintable || c == deleteCharacter;
}

} // namespace

std::optional<std::string> filePathProblem(std::string_view path)
{
    if (path.empty())
    {
        return "is empty";
    }
    if (path.size() > maxPathBytes)
    {
        return "is longer than " + std::to_string(maxPathBytes) + " bytes";
    }
    if (path.front() == '/')
    {
        return "is absolute";
    }
    if (!isValidUtf8(path))
    {
        return "is not valid UTF-8";
    }
    for (const char c : path)
    {
        if (isControl(static_cast<unsigned char>(c)))
        {
            return "holds a control character";
        }
    }
    std::size_t start = 0;
    while (start <= path.size())
    {
        const auto end = std::min(path.find('/', start), path.size());
        const auto segment = path.substr(start, end - start);
        if (segment.empty())
        {
            return "has an empty segment";
        }
        if (segment == "." || segment == "..")
        {
            return "has a \"" + std::string(segment) + "\" segment";
        }
        if (segment.size() > maxPathSegmentBytes)
        {
            return "has a segment longer than " + std::to_string(maxPathSegmentBytes) + " bytes";
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::string displayPath(std::string_view path)
{
    const auto valid = toValidUtf8(path.substr(0, maxPathBytes));
    std::string shown;
    shown.reserve(valid.size());
    for (const char c : valid)
    {
        if (isControl(static_cast<unsigned char>(c)))
        {
            shown += replacement;
        }
        else
        {
            shown.push_back(c);
        }
    }
    bool cut = path.size() > maxPathBytes;
    if (shown.size() > maxPathBytes)
    {
        // Each replacement takes three bytes: cut again, at a character's start, so that what
        // is shown stays within what a manifest (files_manifest.hpp) takes.
        constexpr unsigned char continuationMask = 0xC0;
        constexpr unsigned char continuationBits = 0x80;
        std::size_t end = maxPathBytes;
        while (end > 0 &&
               (static_cast<unsigned char>(shown[end]) & continuationMask) == continuationBits)
        {
            --end;
        }
        shown.resize(end);
        cut = true;
    }
    if (cut)
    {
        shown += "...";
    }
    return shown;
}

} // namespace pyrunner::core
