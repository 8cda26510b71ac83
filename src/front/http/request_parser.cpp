#include "front/http/request_parser.hpp"

#include "common/callback_url.hpp"
#include "common/environment_requirements.hpp"
#include "common/sandbox_policy.hpp"
#include "common/utf8.hpp"
#include "front/files/files_in.hpp"
#include "front/http/multipart_form.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

namespace pyrunner::http
{

using core::excerpt;
using core::isValidUtf8;
namespace
{

using nlohmann::json;

constexpr std::string_view knownLimits =
    "wall_time_s, cpu_time_s, memory_mb, cpu_percent, tasks, output_bytes, disk_mb, files_count, "
    "files_bytes";

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items)
    {
        out += out.empty() ? "" : ", ";
        out += item;
    }
    return out;
}

// "Text/Plain; charset=utf-8" -> "text/plain".
std::string mediaType(std::string_view contentType)
{
    auto type = contentType.substr(0, contentType.find(';'));
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    {
        type.remove_prefix(1);
    }
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    {
        type.remove_suffix(1);
    }
    std::string lower(type);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return lower;
}

// Parses without exceptions; nesting is bounded so a hostile body costs nothing extra.
std::variant<json, HttpError> parseObject(std::string_view text, std::string_view what)
{
    bool tooDeep = false;
    const json::parser_callback_t limitDepth =
        [&tooDeep](int depth, json::parse_event_t event, json& /*parsed*/) {
        if ((event == json::parse_event_t::object_start ||
             event == json::parse_event_t::array_start) &&
            depth >= maxJsonDepth)
        {
            tooDeep = true;
            return false;
        }
        return true;
    };
    auto value = json::parse(text, limitDepth, false);
    if (tooDeep)
    {
        return badRequest(std::string(what) + " nests deeper than " + std::to_string(maxJsonDepth) +
                          " levels.");
    }
    if (value.is_discarded())
    {
        return badRequest(std::string(what) + " is not valid JSON (UTF-8).");
    }
    if (!value.is_object())
    {
        return badRequest(std::string(what) + " must be a JSON object.");
    }
    return value;
}

std::optional<HttpError> readLimits(const json& value, core::LimitRequest& limits)
{
    if (!value.is_object())
    {
        return badRequest("limits must be an object with any of: " + std::string(knownLimits) +
                          ".");
    }
    const std::array<
        std::pair<std::string_view, std::optional<std::uint64_t> core::LimitRequest::*>, 9>
        fields{{
            {"wall_time_s", &core::LimitRequest::wallTimeS},
            {"cpu_time_s", &core::LimitRequest::cpuTimeS},
            {"memory_mb", &core::LimitRequest::memoryMb},
            {"cpu_percent", &core::LimitRequest::cpuPercent},
            {"tasks", &core::LimitRequest::tasks},
            {"output_bytes", &core::LimitRequest::outputBytes},
            {"disk_mb", &core::LimitRequest::diskMb},
            {"files_count", &core::LimitRequest::filesCount},
            {"files_bytes", &core::LimitRequest::filesBytes},
        }};
    for (const auto& [key, item] : value.items())
    {
        const auto* field = std::find_if(fields.begin(), fields.end(),
                                         [&key = key](const auto& f) { return f.first == key; });
        if (field == fields.end())
        {
            return badRequest("limits has no field " + inQuotes(key) + "; the known ones are " +
                              std::string(knownLimits) + ".");
        }
        if (item.is_number_unsigned())
        {
            limits.*field->second = item.get<std::uint64_t>();
        }
        else if (item.is_number_integer())
        {
            // A negative number is out of range just like 0: resolveLimits names the range.
            limits.*field->second = 0;
        }
        else
        {
            return badRequest("limits." + key + " must be a whole number.");
        }
    }
    return std::nullopt;
}

std::optional<HttpError> readArgs(const json& value, std::vector<std::string>& args)
{
    if (!value.is_array())
    {
        return badRequest("args must be an array of strings.");
    }
    for (std::size_t i = 0; i < value.size(); ++i)
    {
        const auto& arg = value[i];
        if (!arg.is_string())
        {
            return badRequest("args must be an array of strings; args[" + std::to_string(i) +
                              "] is not a string.");
        }
        const auto& text = arg.get_ref<const std::string&>();
        if (text.find('\0') != std::string::npos)
        {
            return badRequest("args[" + std::to_string(i) +
                              "] contains a NUL byte, which a command line cannot carry.");
        }
        if (text.size() > maxArgBytes)
        {
            return badRequest("args[" + std::to_string(i) + "] is " + std::to_string(text.size()) +
                              " bytes; one argument can be at most " + std::to_string(maxArgBytes) +
                              " bytes.");
        }
        args.push_back(text);
    }
    // The broker refuses more, and execve() would fail on much more: say so here, as a 400.
    const auto bytes = core::commandLineBytes(args);
    const auto maxBytes = core::SandboxPolicy{}.maxArgsBytes;
    if (bytes > maxBytes)
    {
        return badRequest("args take " + std::to_string(bytes) +
                          " bytes of the command line (with a pointer per argument); at most " +
                          std::to_string(maxBytes) + " are allowed.");
    }
    return std::nullopt;
}

std::optional<HttpError> readRequirements(const json& value, std::vector<std::string>& out)
{
    if (!value.is_array() ||
        !std::all_of(value.begin(), value.end(), [](const json& item) { return item.is_string(); }))
    {
        return badRequest("requirements must be an array of strings such as \"pandas>=1.5\".");
    }
    auto normalised = core::normaliseRequirements(value.get<std::vector<std::string>>());
    if (const auto* problem = std::get_if<std::string>(&normalised))
    {
        return badRequest(*problem);
    }
    out = std::get<core::NormalisedRequirements>(normalised).entries;
    return std::nullopt;
}

constexpr std::string_view filesShape =
    "files must be an array of objects {\"path\": \"data/sales.csv\", \"content\": \"...\", "
    "\"encoding\": \"utf-8\" or \"base64\"}.";

std::optional<HttpError> readFile(const json& item, const std::string& name, files::FileIn& file)
{
    if (!item.is_object())
    {
        return badRequest(name + " is not an object; " + std::string(filesShape));
    }
    bool base64 = false;
    for (const auto& [key, value] : item.items())
    {
        if (key == "path" || key == "content")
        {
            if (!value.is_string())
            {
                std::string message = name;
                message.append(".").append(key).append(" must be a string.");
                return badRequest(std::move(message));
            }
            (key == "path" ? file.path : file.content) = value.get<std::string>();
        }
        else if (key == "encoding")
        {
            if (!value.is_string() || (value != "utf-8" && value != "base64"))
            {
                return badRequest(name + ".encoding must be \"utf-8\" or \"base64\".");
            }
            base64 = value == "base64";
        }
        else
        {
            return badRequest("Unknown field " + inQuotes(key) + " in " + name +
                              "; the known fields are path, content, encoding.");
        }
    }
    if (!item.contains("path") || !item.contains("content"))
    {
        return badRequest(name + " needs both path and content.");
    }
    if (base64)
    {
        auto decoded = files::decodeBase64(file.content);
        if (!decoded)
        {
            return badRequest(name + ".content is not valid base64.");
        }
        file.content = std::move(*decoded);
    }
    return std::nullopt;
}

std::optional<HttpError> readFiles(const json& value, std::vector<files::FileIn>& out)
{
    if (!value.is_array())
    {
        return badRequest(std::string(filesShape));
    }
    for (std::size_t i = 0; i < value.size(); ++i)
    {
        const auto name = "files[" + std::to_string(i) + "]";
        files::FileIn file{name + ".path", {}, {}};
        if (auto error = readFile(value[i], name, file))
        {
            return error;
        }
        out.push_back(std::move(file));
    }
    return std::nullopt;
}

// Where the fields come from: the body of /run-json/ or the options part of /run-file/.
struct Source
{
    std::string_view name;
    bool takesCode;
};

std::optional<HttpError> readFields(const json& object, const Source& source,
                                    core::RunRequest& request, core::LimitRequest& limits,
                                    files::FilesIn& filesIn)
{
    for (const auto& [key, value] : object.items())
    {
        if (key == "code" && source.takesCode)
        {
            if (!value.is_string())
            {
                return badRequest("code must be a string holding the Python source.");
            }
            request.code = value.get<std::string>();
        }
        else if (key == "code")
        {
            return badRequest("The options part must not contain code: the script is the part "
                              "named file.");
        }
        else if (key == "files" && source.takesCode)
        {
            if (auto error = readFiles(value, filesIn.files))
            {
                return error;
            }
        }
        else if (key == "files")
        {
            return badRequest("The options part must not contain files: send each file as a "
                              "part named files, its path in the part's filename.");
        }
        else if (key == "entry")
        {
            if (!value.is_string() || value.get_ref<const std::string&>().empty())
            {
                return badRequest("entry must be a string naming the script among the files.");
            }
            filesIn.entry = value.get<std::string>();
        }
        else if (key == "stdin")
        {
            if (!value.is_string())
            {
                return badRequest("stdin must be a string.");
            }
            request.stdinData = value.get<std::string>();
        }
        else if (key == "args")
        {
            if (auto error = readArgs(value, request.args))
            {
                return error;
            }
        }
        else if (key == "environment")
        {
            if (!value.is_string())
            {
                return badRequest("environment must be a string naming an environment.");
            }
            request.environment = value.get<std::string>();
        }
        else if (key == "requirements")
        {
            if (auto error = readRequirements(value, request.requirements))
            {
                return error;
            }
        }
        else if (key == "limits")
        {
            if (auto error = readLimits(value, limits))
            {
                return error;
            }
        }
        else if (key == "callback_url")
        {
            if (!value.is_string())
            {
                return badRequest("callback_url must be a string, the http:// or https:// URL "
                                  "the finished run is posted to.");
            }
            request.callbackUrl = value.get<std::string>();
        }
        else if (key == "wait")
        {
            if (!value.is_boolean())
            {
                return badRequest("wait must be true or false.");
            }
            request.wait = value.get<bool>();
        }
        else
        {
            return badRequest(
                "Unknown field " + inQuotes(key) + " in " + std::string(source.name) +
                "; the known fields are " + (source.takesCode ? "code, " : "") +
                "stdin, args, environment, requirements, limits, wait, callback_url, " +
                (source.takesCode ? "files, " : "") + "entry.");
        }
    }
    return std::nullopt;
}

std::optional<HttpError> checkCode(std::string_view code, const SubmissionRules& rules)
{
    if (code.size() > rules.maxCodeBytes)
    {
        return HttpError{413, "The code is " + std::to_string(code.size()) +
                                  " bytes; the limit is " + std::to_string(rules.maxCodeBytes) +
                                  " bytes."};
    }
    if (code.find('\0') != std::string_view::npos)
    {
        return badRequest("The code contains a NUL byte; Python refuses source code with NUL "
                          "bytes.");
    }
    if (!isValidUtf8(code))
    {
        return badRequest("The code is not valid UTF-8; Python source must be UTF-8.");
    }
    return std::nullopt;
}

// The checks every submission passes, whatever shape it came in.
ParseResult finish(core::RunRequest request, const core::LimitRequest& limits,
                   files::FilesIn filesIn, std::optional<std::string_view> wait,
                   const SubmissionRules& rules)
{
    if (filesIn.entry.empty())
    {
        if (auto error = checkCode(request.code, rules))
        {
            return *error;
        }
    }
    if (wait)
    {
        if (*wait != "true" && *wait != "false")
        {
            return badRequest("The query parameter wait must be true or false.");
        }
        request.wait = *wait == "true";
    }
    if (std::find(rules.environments.begin(), rules.environments.end(), request.environment) ==
        rules.environments.end())
    {
        return badRequest("Unknown environment " + inQuotes(request.environment) +
                          "; available: " + joined(rules.environments) + ".");
    }
    if (!request.requirements.empty() && request.environment != core::defaultEnvironment)
    {
        return badRequest("requirements are installed on top of the default environment; leave "
                          "environment out or set it to \"default\".");
    }
    if (request.callbackUrl)
    {
        if (auto refusal = core::callbackUrlRefusal(*request.callbackUrl, rules.callbackAllow))
        {
            return badRequest(std::move(*refusal));
        }
    }
    auto resolved = core::resolveLimits(limits, rules.limits);
    if (const auto* error = std::get_if<core::LimitError>(&resolved))
    {
        return badRequest(error->message);
    }
    request.limits = std::get<core::Limits>(resolved);
    // Last: the archive is read only for a request that is otherwise fine, within its limits.
    request.entry = filesIn.entry;
    auto bundle = files::makeBundle(std::move(filesIn), files::FilesLimits{
                                                            request.limits.filesCount,
                                                            request.limits.filesBytes,
                                                            request.limits.diskMb * mebibyte,
                                                        });
    if (auto* refusal = std::get_if<files::FilesRefusal>(&bundle))
    {
        return HttpError{refusal->status, std::move(refusal->message)};
    }
    request.filesBundle = std::move(std::get<std::string>(bundle));
    return request;
}

constexpr std::string_view eitherCodeOrEntry =
    "Give either the script itself or entry, the script's path among the files, not both.";

ParseResult parseForm(std::string_view contentType, std::string_view body,
                      std::optional<std::string_view> wait, const SubmissionRules& rules)
{
    auto form = readForm(contentType, body);
    if (auto* error = std::get_if<HttpError>(&form))
    {
        return std::move(*error);
    }
    core::RunRequest request;
    core::LimitRequest limits;
    files::FilesIn filesIn;
    bool hasFile = false;
    bool hasOptions = false;
    for (auto& part : std::get<std::vector<FormPart>>(form))
    {
        if (part.name == "files")
        {
            const auto name = "files[" + std::to_string(filesIn.files.size()) + "]";
            if (!part.filename)
            {
                return badRequest("The form part " + name +
                                  " has no filename; it names the file's path in the working "
                                  "directory.");
            }
            filesIn.files.push_back(files::FileIn{name + ".filename", std::move(*part.filename),
                                                  std::move(part.content)});
            continue;
        }
        if (part.name == "archive")
        {
            if (filesIn.archive)
            {
                return badRequest("The form has more than one part named archive.");
            }
            filesIn.archive = std::move(part.content);
            continue;
        }
        if (part.name != "file" && part.name != "options")
        {
            return badRequest("Unknown form part " + inQuotes(part.name) +
                              "; the form takes the parts file, options, files and archive.");
        }
        bool& seen = part.name == "file" ? hasFile : hasOptions;
        if (seen)
        {
            return badRequest("The form has more than one part named " + part.name + ".");
        }
        seen = true;
        if (part.name == "file")
        {
            request.code = std::move(part.content);
            continue;
        }
        auto options = parseObject(part.content, "The options part");
        if (auto* error = std::get_if<HttpError>(&options))
        {
            return std::move(*error);
        }
        if (auto error = readFields(std::get<json>(options), Source{"the options part", false},
                                    request, limits, filesIn))
        {
            return *error;
        }
    }
    if (hasFile && !filesIn.entry.empty())
    {
        return badRequest(std::string(eitherCodeOrEntry));
    }
    if (!hasFile && filesIn.entry.empty())
    {
        return badRequest("The form has no part named file; send the script in it, or name it "
                          "among the files with entry in the options part.");
    }
    return finish(std::move(request), limits, std::move(filesIn), wait, rules);
}

} // namespace

std::string inQuotes(std::string_view text)
{
    // Appended, not `"\"" + excerpt(text)`: GCC 12 at -O3 takes that for an overlapping copy
    // (-Wrestrict, a false positive).
    std::string quoted(1, '"');
    quoted += excerpt(text);
    quoted += '"';
    return quoted;
}

ParseResult parseRunJson(std::string_view contentType, std::string_view body,
                         std::optional<std::string_view> wait, const SubmissionRules& rules)
{
    if (mediaType(contentType) != "application/json")
    {
        return HttpError{415, "POST /run-json/ takes Content-Type: application/json."};
    }
    auto object = parseObject(body, "The request body");
    if (auto* error = std::get_if<HttpError>(&object))
    {
        return std::move(*error);
    }
    const auto& fields = std::get<json>(object);
    core::RunRequest request;
    core::LimitRequest limits;
    files::FilesIn filesIn;
    if (auto error = readFields(fields, Source{"the request body", true}, request, limits, filesIn))
    {
        return *error;
    }
    if (fields.contains("code") && !filesIn.entry.empty())
    {
        return badRequest(std::string(eitherCodeOrEntry));
    }
    if (!fields.contains("code") && filesIn.entry.empty())
    {
        return badRequest("The request body has no code; put the Python source in \"code\", or "
                          "name the script among the files in \"entry\".");
    }
    return finish(std::move(request), limits, std::move(filesIn), wait, rules);
}

ParseResult parseRunFile(std::string_view contentType, std::string_view body,
                         std::optional<std::string_view> wait, const SubmissionRules& rules)
{
    const auto type = mediaType(contentType);
    if (type == "multipart/form-data")
    {
        return parseForm(contentType, body, wait, rules);
    }
    if (type == "text/x-python" || type == "text/plain" || type == "application/octet-stream")
    {
        core::RunRequest request;
        request.code = body;
        return finish(std::move(request), {}, {}, wait, rules);
    }
    return HttpError{415, "POST /run-file/ takes multipart/form-data, or the script itself as "
                          "text/x-python, text/plain or application/octet-stream."};
}

} // namespace pyrunner::http
