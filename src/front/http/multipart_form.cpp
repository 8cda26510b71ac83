#include "front/http/multipart_form.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace pyrunner::http
{
namespace
{

struct GObjectUnref
{
    void operator()(gpointer object) const { g_object_unref(object); }
};

template <typename T> using GPtr = std::unique_ptr<T, GObjectUnref>;

void initGMime()
{
    static const bool initialized = [] {
        g_mime_init();
        return true;
    }();
    static_cast<void>(initialized);
}

std::optional<std::string> boundaryOf(std::string_view contentType)
{
    const std::string text(contentType);
    const GPtr<GMimeContentType> type(g_mime_content_type_parse(nullptr, text.c_str()));
    const char* boundary =
        type ? g_mime_content_type_get_parameter(type.get(), "boundary") : nullptr;
    if (boundary == nullptr || *boundary == '\0')
    {
        return std::nullopt;
    }
    return boundary;
}

// GMime builds a tree of every part and header before pyrunner sees any: a 2 MiB body of
// tiny parts or header lines costs it a hundred times that in memory. A body with more
// delimiters than the form has parts, or a part head past a few KiB, is refused first.
std::optional<HttpError> checkFormShape(std::string_view body, std::string_view boundary)
{
    const std::string delimiter = "--" + std::string(boundary);
    std::size_t delimiters = 0;
    for (auto at = body.find(delimiter); at != std::string_view::npos;
         at = body.find(delimiter, at + delimiter.size()))
    {
        // The closing delimiter ends one part, it does not start one.
        if (++delimiters > maxFormParts + 1)
        {
            return badRequest("The form has more than " + std::to_string(maxFormParts) +
                              " parts; it takes the parts file, options and archive once each, "
                              "and up to " +
                              std::to_string(maxFilesParts) + " parts named files.");
        }
        // The head ends at the first empty line, CRLF or (as GMime also accepts) bare LF.
        const auto head = body.substr(at + delimiter.size());
        if (head.starts_with("--"))
        {
            continue;
        }
        // Only the first maxPartHeadBytes are searched, so a body of many parts is read once.
        const auto window = head.substr(0, maxPartHeadBytes + 4);
        const auto headBytes =
            std::min({window.find("\r\n\r\n"), window.find("\n\n"), window.size()});
        if (headBytes > maxPartHeadBytes)
        {
            return badRequest("A part of the form has more than " +
                              std::to_string(maxPartHeadBytes) + " bytes of headers.");
        }
        // The delimiter line's own end is one more line break than the head has lines.
        if (static_cast<std::size_t>(std::count(window.begin(), window.begin() + headBytes, '\n')) >
            maxPartHeadLines + 1)
        {
            return badRequest("A part of the form has more than " +
                              std::to_string(maxPartHeadLines) + " header lines.");
        }
    }
    return std::nullopt;
}

} // namespace

std::variant<std::vector<FormPart>, HttpError> readForm(std::string_view contentType,
                                                        std::string_view body)
{
    if (contentType.find_first_of("\r\n") != std::string_view::npos)
    {
        return badRequest("The Content-Type header is malformed.");
    }
    initGMime();
    const auto boundary = boundaryOf(contentType);
    if (!boundary)
    {
        return badRequest("The multipart/form-data Content-Type names no boundary.");
    }
    if (auto error = checkFormShape(body, *boundary))
    {
        return *error;
    }
    // GMime parses MIME entities: give it the body with its Content-Type as the only header.
    std::string entity;
    entity.append("Content-Type: ").append(contentType).append("\r\n\r\n").append(body);
    const GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(entity.data(), entity.size()));
    const GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    const GPtr<GMimeObject> root(g_mime_parser_construct_part(parser.get(), nullptr));
    if (!root || !GMIME_IS_MULTIPART(root.get()))
    {
        return badRequest("The multipart/form-data body could not be read; check its boundary.");
    }
    auto* multipart = GMIME_MULTIPART(root.get());
    if (g_mime_multipart_get_count(multipart) == 0)
    {
        return badRequest("The multipart/form-data body holds no parts; check its boundary.");
    }
    std::vector<FormPart> parts;
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i)
    {
        GMimeObject* part = g_mime_multipart_get_part(multipart, i);
        const char* name = g_mime_object_get_content_disposition_parameter(part, "name");
        if (name == nullptr || !GMIME_IS_PART(part))
        {
            return badRequest("Every part of the form needs a Content-Disposition with a name "
                              "(file, options, files or archive) and a plain body.");
        }
        FormPart formPart{name, {}};
        if (const char* filename = g_mime_part_get_filename(GMIME_PART(part)))
        {
            formPart.filename = filename;
        }
        if (GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part)))
        {
            const GPtr<GMimeStream> out(g_mime_stream_mem_new());
            if (g_mime_data_wrapper_write_to_stream(content, out.get()) < 0)
            {
                return badRequest("The form part " + inQuotes(name) + " could not be read.");
            }
            const GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
            formPart.content.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
        }
        parts.push_back(std::move(formPart));
    }
    return parts;
}

} // namespace pyrunner::http
