#include "front/files/archive_maker.hpp"
#include "front/http/multipart_form.hpp"
#include "front/http/request_parser.hpp"

#include <gtest/gtest.h>

namespace pyrunner::http
{
namespace
{

SubmissionRules rules()
{
    SubmissionRules rules;
    rules.limits = core::LimitPolicy::forCpus(2);
    rules.environments = {"default", "science"};
    rules.maxCodeBytes = 64;
    rules.callbackAllow = {"https://hooks.example/pyrunner/"};
    return rules;
}

const std::string json = "application/json";

core::RunRequest accepted(const ParseResult& result)
{
    EXPECT_TRUE(std::holds_alternative<core::RunRequest>(result))
        << std::get<HttpError>(result).message;
    return std::holds_alternative<core::RunRequest>(result) ? std::get<core::RunRequest>(result)
                                                            : core::RunRequest{};
}

HttpError refused(const ParseResult& result)
{
    EXPECT_TRUE(std::holds_alternative<HttpError>(result));
    return std::holds_alternative<HttpError>(result) ? std::get<HttpError>(result) : HttpError{};
}

core::RunRequest acceptedJson(std::string_view body, std::optional<std::string_view> wait = {})
{
    return accepted(parseRunJson(json, body, wait, rules()));
}

HttpError refusedJson(std::string_view body, std::optional<std::string_view> wait = {})
{
    return refused(parseRunJson(json, body, wait, rules()));
}

std::string form(const std::vector<std::pair<std::string, std::string>>& parts,
                 const std::string& boundary = "b0undary")
{
    std::string body;
    for (const auto& [headers, content] : parts)
    {
        body.append("--").append(boundary).append("\r\n").append(headers);
        body.append("\r\n\r\n").append(content).append("\r\n");
    }
    return body + "--" + boundary + "--\r\n";
}

std::pair<std::string, std::string> filePart(const std::string& content)
{
    return {"Content-Disposition: form-data; name=\"file\"; filename=\"script.py\"\r\n"
            "Content-Type: text/x-python",
            content};
}

std::pair<std::string, std::string> optionsPart(const std::string& content)
{
    return {"Content-Disposition: form-data; name=\"options\"", content};
}

const std::string formType = "multipart/form-data; boundary=b0undary";

// JSON

TEST(ParseRunJson, OnlyCodeTakesEveryDefault)
{
    const auto request = acceptedJson(R"json({"code": "print(1)"})json");
    EXPECT_EQ(request.code, "print(1)");
    EXPECT_EQ(request.stdinData, "");
    EXPECT_TRUE(request.args.empty());
    EXPECT_EQ(request.environment, "default");
    EXPECT_EQ(request.limits, core::LimitPolicy::forCpus(2).defaults);
    EXPECT_EQ(request.limits.diskMb, 512U);
    EXPECT_TRUE(request.wait);
}

TEST(ParseRunJson, RequirementsAreNormalised)
{
    const auto request =
        acceptedJson(R"({"code": "", "requirements": ["Pandas >= 1.5", "numpy", "NumPy"]})");
    EXPECT_EQ(request.requirements, (std::vector<std::string>{"numpy", "pandas>=1.5"}));
    EXPECT_EQ(request.environment, "default");
}

TEST(ParseRunJson, RequirementsMustBePlainNamesOnTopOfTheDefaultEnvironment)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "requirements": "numpy"})").message,
              "requirements must be an array of strings such as \"pandas>=1.5\".");
    EXPECT_EQ(refusedJson(R"({"code": "", "requirements": ["numpy", "-r /etc/shadow"]})").status,
              400);
    EXPECT_EQ(
        refusedJson(R"({"code": "", "environment": "science", "requirements": ["numpy"]})").message,
        "requirements are installed on top of the default environment; leave environment out or "
        "set it to \"default\".");
}

TEST(ParseRunJson, EveryFieldIsRead)
{
    const auto request = acceptedJson(R"({"code": "x", "stdin": "in\u0000put", "args": ["a", "b c"],
        "environment": "science", "wait": false,
        "limits": {"wall_time_s": 20, "memory_mb": 512, "cpu_percent": 200, "tasks": 8,
                   "output_bytes": 100, "disk_mb": 64}})");
    EXPECT_EQ(request.stdinData, std::string("in\0put", 6));
    EXPECT_EQ(request.args, (std::vector<std::string>{"a", "b c"}));
    EXPECT_EQ(request.environment, "science");
    EXPECT_FALSE(request.wait);
    EXPECT_EQ(request.limits.wallTimeS, 20U);
    EXPECT_EQ(request.limits.cpuTimeS, 20U);
    EXPECT_EQ(request.limits.memoryMb, 512U);
    EXPECT_EQ(request.limits.cpuPercent, 200U);
    EXPECT_EQ(request.limits.tasks, 8U);
    EXPECT_EQ(request.limits.outputBytes, 100U);
    EXPECT_EQ(request.limits.diskMb, 64U);
}

TEST(ParseRunJson, CallbackUrlUnderAnAllowedPrefixIsTaken)
{
    EXPECT_EQ(
        acceptedJson(R"({"code": "", "callback_url": "https://hooks.example/pyrunner/a?b=1"})")
            .callbackUrl,
        "https://hooks.example/pyrunner/a?b=1");
    EXPECT_EQ(acceptedJson(R"({"code": ""})").callbackUrl, std::nullopt);
}

TEST(ParseRunJson, CallbackUrlIsChecked)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "callback_url": 5})").message,
              "callback_url must be a string, the http:// or https:// URL the finished run is "
              "posted to.");
    EXPECT_EQ(refusedJson(R"({"code": "", "callback_url": "https://elsewhere.example/"})"),
              badRequest("callback_url is not under a prefix this server allows ([callbacks] "
                         "allow); its operator can say which."));
    EXPECT_EQ(
        refusedJson(R"({"code": "", "callback_url": "https://hooks.example/pyrunner/ x"})").message,
        "callback_url must not contain whitespace or control characters.");
}

TEST(ParseRunFile, CallbackUrlComesInTheOptionsPart)
{
    const auto body =
        form({filePart("pass"),
              optionsPart(R"({"callback_url": "https://hooks.example/pyrunner/done"})")});
    EXPECT_EQ(accepted(parseRunFile(formType, body, {}, rules())).callbackUrl,
              "https://hooks.example/pyrunner/done");
}

TEST(ParseRunJson, NoAllowedPrefixRefusesEveryCallbackUrl)
{
    auto none = rules();
    none.callbackAllow.clear();
    EXPECT_EQ(
        refused(parseRunJson(json, R"({"code": "", "callback_url": "https://hooks.example/"})", {},
                             none))
            .message,
        "This server accepts no callback_url: its operator has allowed no callback prefix "
        "([callbacks] allow).");
}

TEST(ParseRunJson, EmptyCodeIsAllowed)
{
    EXPECT_EQ(acceptedJson(R"({"code": ""})").code, "");
}

TEST(ParseRunJson, ContentTypeMayCarryParameters)
{
    accepted(parseRunJson("Application/JSON; charset=utf-8", R"({"code": ""})", {}, rules()));
}

TEST(ParseRunJson, OtherContentTypesAreUnsupported)
{
    for (const auto* type : {"", "text/plain", "application/x-www-form-urlencoded",
                             "application/jsonx", "multipart/form-data; boundary=x"})
    {
        const auto error = refused(parseRunJson(type, R"({"code": ""})", {}, rules()));
        EXPECT_EQ(error.status, 415) << type;
        EXPECT_EQ(error.message, "POST /run-json/ takes Content-Type: application/json.");
    }
}

TEST(ParseRunJson, MalformedJsonIsABadRequest)
{
    for (const auto* body : {"", "{", R"({"code": "x",})", "{'code': 'x'}", "nul", "\xFF"})
    {
        EXPECT_EQ(refusedJson(body),
                  (HttpError{400, "The request body is not valid JSON (UTF-8)."}))
            << body;
    }
}

TEST(ParseRunJson, InvalidUtf8InsideAStringIsABadRequest)
{
    EXPECT_EQ(refusedJson("{\"code\": \"\xC0\xAF\"}").status, 400);
}

TEST(ParseRunJson, TheBodyMustBeAnObject)
{
    for (const auto* body : {"[]", "\"code\"", "42", "null"})
    {
        EXPECT_EQ(refusedJson(body), (HttpError{400, "The request body must be a JSON object."}));
    }
}

TEST(ParseRunJson, DeepNestingIsRefused)
{
    const auto nested = [](int depth) {
        return R"({"code": "", "limits": )" + std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']') + "}";
    };
    EXPECT_EQ(refusedJson(nested(100000)),
              (HttpError{400, "The request body nests deeper than 32 levels."}));
    EXPECT_EQ(refusedJson(nested(31)).message,
              "limits must be an object with any of: wall_time_s, cpu_time_s, memory_mb, "
              "cpu_percent, tasks, output_bytes, disk_mb, files_count, files_bytes.");
    EXPECT_EQ(refusedJson(nested(32)).message, "The request body nests deeper than 32 levels.");
}

TEST(ParseRunJson, MissingCodeIsABadRequest)
{
    EXPECT_EQ(refusedJson(R"({"stdin": ""})"),
              (HttpError{400, "The request body has no code; put the Python source in \"code\", or "
                              "name the script among the files in \"entry\"."}));
}

TEST(ParseRunJson, UnknownFieldsAreNamed)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "timeout": 5})"),
              (HttpError{400, "Unknown field \"timeout\" in the request body; the known fields "
                              "are code, stdin, args, environment, requirements, limits, wait, "
                              "callback_url, files, entry."}));
}

TEST(ParseRunJson, MistypedFieldsAreNamed)
{
    EXPECT_EQ(refusedJson(R"({"code": 1})").message,
              "code must be a string holding the Python source.");
    EXPECT_EQ(refusedJson(R"({"code": "", "stdin": ["x"]})").message, "stdin must be a string.");
    EXPECT_EQ(refusedJson(R"({"code": "", "args": "a b"})").message,
              "args must be an array of strings.");
    EXPECT_EQ(refusedJson(R"({"code": "", "args": ["a", 2]})").message,
              "args must be an array of strings; args[1] is not a string.");
    EXPECT_EQ(refusedJson(R"({"code": "", "environment": null})").message,
              "environment must be a string naming an environment.");
    EXPECT_EQ(refusedJson(R"({"code": "", "wait": "yes"})").message, "wait must be true or false.");
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": 5})").status, 400);
}

TEST(ParseRunJson, ArgsCannotCarryNul)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "args": ["ok", "a\u0000b"]})").message,
              "args[1] contains a NUL byte, which a command line cannot carry.");
}

TEST(ParseRunJson, AnArgumentTheKernelCannotExecIsRefused)
{
    const auto longest = std::string(maxArgBytes, 'a');
    EXPECT_EQ(acceptedJson(R"({"code": "", "args": [")" + longest + "\"]}").args.front(), longest);
    EXPECT_EQ(refusedJson(R"({"code": "", "args": ["ok", ")" + longest + "a\"]}").message,
              "args[1] is 131072 bytes; one argument can be at most 131071 bytes.");
}

TEST(ParseRunJson, UnknownLimitsAreNamed)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"swap_mb": 1}})").message,
              "limits has no field \"swap_mb\"; the known ones are wall_time_s, cpu_time_s, "
              "memory_mb, cpu_percent, tasks, output_bytes, disk_mb, files_count, files_bytes.");
}

TEST(ParseRunJson, LimitsMustBeWholeNumbers)
{
    for (const auto* value : {"1.5", "\"10\"", "true", "null", "1e3", "10.0"})
    {
        EXPECT_EQ(refusedJson(std::string(R"({"code": "", "limits": {"tasks": )") + value + "}}"),
                  (HttpError{400, "limits.tasks must be a whole number."}))
            << value;
    }
}

TEST(ParseRunJson, LimitsOutOfRangeNameTheMaximum)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"memory_mb": 4096}})"),
              (HttpError{400, "limits.memory_mb must be between 1 and 2048."}));
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"cpu_percent": 201}})").message,
              "limits.cpu_percent must be between 1 and 200.");
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"tasks": 0}})").message,
              "limits.tasks must be between 1 and 256.");
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"tasks": -3}})").message,
              "limits.tasks must be between 1 and 256.");
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"disk_mb": 0}})"),
              (HttpError{400, "limits.disk_mb must be between 1 and 4096."}));
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"disk_mb": 4097}})"),
              (HttpError{400, "limits.disk_mb must be between 1 and 4096."}));
    EXPECT_EQ(
        refusedJson(R"({"code": "", "limits": {"wall_time_s": 18446744073709551615}})").message,
        "limits.wall_time_s must be between 1 and 60.");
}

TEST(ParseRunJson, UnknownEnvironmentListsTheAvailableOnes)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "environment": "pypy"})"),
              (HttpError{400, "Unknown environment \"pypy\"; available: default, science."}));
}

TEST(ParseRunJson, CodeOverTheLimitIsTooLarge)
{
    EXPECT_EQ(acceptedJson(R"({"code": ")" + std::string(64, 'x') + "\"}").code.size(), 64U);
    EXPECT_EQ(refusedJson(R"({"code": ")" + std::string(65, 'x') + "\"}"),
              (HttpError{413, "The code is 65 bytes; the limit is 64 bytes."}));
}

TEST(ParseRunJson, CodeWithNulIsRefused)
{
    EXPECT_EQ(refusedJson(R"json({"code": "print(1)\u0000"})json"),
              (HttpError{400, "The code contains a NUL byte; Python refuses source code with NUL "
                              "bytes."}));
}

TEST(ParseRunJson, TheWaitQueryOverridesTheBody)
{
    EXPECT_FALSE(acceptedJson(R"({"code": "", "wait": true})", "false").wait);
    EXPECT_TRUE(acceptedJson(R"({"code": "", "wait": false})", "true").wait);
}

TEST(ParseRunJson, OtherWaitQueryValuesAreRefused)
{
    for (const auto* value : {"", "1", "no", "TRUE"})
    {
        EXPECT_EQ(refusedJson(R"({"code": ""})", value),
                  (HttpError{400, "The query parameter wait must be true or false."}));
    }
}

// Raw uploads

TEST(ParseRunFile, ARawBodyIsTheCode)
{
    for (const auto* type :
         {"text/x-python", "text/plain; charset=utf-8", "application/octet-stream", "TEXT/PLAIN"})
    {
        const auto request = accepted(parseRunFile(type, "print('hi')\r\n", {}, rules()));
        EXPECT_EQ(request.code, "print('hi')\r\n");
        EXPECT_TRUE(request.wait);
        EXPECT_EQ(request.environment, "default");
    }
}

TEST(ParseRunFile, ARawBodyTakesTheWaitQuery)
{
    EXPECT_FALSE(accepted(parseRunFile("text/plain", "", "false", rules())).wait);
    EXPECT_EQ(refused(parseRunFile("text/plain", "", "maybe", rules())).status, 400);
}

TEST(ParseRunFile, OtherContentTypesAreUnsupported)
{
    for (const auto* type : {"", "application/json", "image/png", "multipart/mixed; boundary=x"})
    {
        EXPECT_EQ(refused(parseRunFile(type, "x", {}, rules())).status, 415) << type;
    }
}

TEST(ParseRunFile, CodeThatIsNotUtf8IsRefused)
{
    EXPECT_EQ(refused(parseRunFile("text/plain", "print('\xE9')", {}, rules())),
              (HttpError{400, "The code is not valid UTF-8; Python source must be UTF-8."}));
}

TEST(ParseRunFile, CodeWithNulIsRefused)
{
    EXPECT_EQ(refused(parseRunFile("text/plain", std::string("a\0b", 3), {}, rules())).status, 400);
}

TEST(ParseRunFile, CodeOverTheLimitIsTooLarge)
{
    EXPECT_EQ(refused(parseRunFile("text/plain", std::string(65, 'x'), {}, rules())).status, 413);
}

// Multipart

TEST(ParseRunFile, TheFilePartIsTheCode)
{
    const auto request =
        accepted(parseRunFile(formType, form({filePart("print(1)\n")}), {}, rules()));
    EXPECT_EQ(request.code, "print(1)\n");
    EXPECT_TRUE(request.wait);
}

TEST(ParseRunFile, FileBytesSurviveExactly)
{
    for (const auto& content :
         {std::string(""), std::string("\r\n"), std::string("a\r\nb\r\n\r\n"), std::string("x\r"),
          std::string("\n"), std::string("--b0undar not it\r\n"),
          std::string("line\r\n--b0undaryX\r\n")})
    {
        EXPECT_EQ(accepted(parseRunFile(formType, form({filePart(content)}), {}, rules())).code,
                  content);
    }
}

TEST(ParseRunFile, NulBytesInTheFileReachTheCodeCheck)
{
    const std::string content("print(1)\0\r\n", 11);
    EXPECT_EQ(refused(parseRunFile(formType, form({filePart(content)}), {}, rules())).message,
              "The code contains a NUL byte; Python refuses source code with NUL bytes.");
}

TEST(ParseRunFile, TheFilenameDoesNotMatter)
{
    const auto part = std::pair<std::string, std::string>{
        "Content-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"", "x=1"};
    EXPECT_EQ(accepted(parseRunFile(formType, form({part}), {}, rules())).code, "x=1");
    const auto noName =
        std::pair<std::string, std::string>{"Content-Disposition: form-data; name=file", "x=2"};
    EXPECT_EQ(accepted(parseRunFile(formType, form({noName}), {}, rules())).code, "x=2");
}

TEST(ParseRunFile, AQuotedBoundaryWorks)
{
    const auto body = form({filePart("pass")}, "a'b(c)");
    EXPECT_EQ(
        accepted(parseRunFile("multipart/form-data; boundary=\"a'b(c)\"", body, {}, rules())).code,
        "pass");
}

TEST(ParseRunFile, TheOptionsPartSetsTheOtherFields)
{
    const auto body = form({optionsPart(R"({"stdin": "in", "args": ["-v"], "environment":
        "science", "wait": false, "limits": {"wall_time_s": 5}})"),
                            filePart("pass")});
    const auto request = accepted(parseRunFile(formType, body, {}, rules()));
    EXPECT_EQ(request.code, "pass");
    EXPECT_EQ(request.stdinData, "in");
    EXPECT_EQ(request.args, std::vector<std::string>{"-v"});
    EXPECT_EQ(request.environment, "science");
    EXPECT_FALSE(request.wait);
    EXPECT_EQ(request.limits.wallTimeS, 5U);
    EXPECT_EQ(request.limits.cpuTimeS, 5U);
}

TEST(ParseRunFile, TheWaitQueryOverridesTheOptions)
{
    const auto body = form({filePart("pass"), optionsPart(R"({"wait": false})")});
    EXPECT_TRUE(accepted(parseRunFile(formType, body, "true", rules())).wait);
}

TEST(ParseRunFile, CodeInTheOptionsIsRefused)
{
    const auto body = form({filePart("pass"), optionsPart(R"({"code": "x"})")});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())),
              (HttpError{400, "The options part must not contain code: the script is the part "
                              "named file."}));
}

TEST(ParseRunFile, OptionsAreCheckedLikeTheJsonBody)
{
    const auto check = [](const std::string& options, const std::string& message) {
        const auto body = form({filePart("pass"), optionsPart(options)});
        EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())), (HttpError{400, message}));
    };
    check("{", "The options part is not valid JSON (UTF-8).");
    check("[]", "The options part must be a JSON object.");
    check(R"({"x": 1})", "Unknown field \"x\" in the options part; the known fields are stdin, "
                         "args, environment, requirements, limits, wait, callback_url, entry.");
    check(R"({"environment": "nope"})",
          "Unknown environment \"nope\"; available: default, science.");
    check(R"({"limits": {"tasks": 1000}})", "limits.tasks must be between 1 and 256.");
    check(R"({"limits": {"disk_mb": 4097}})", "limits.disk_mb must be between 1 and 4096.");
}

TEST(ParseRunFile, AMissingFilePartIsABadRequest)
{
    EXPECT_EQ(refused(parseRunFile(formType, form({optionsPart("{}")}), {}, rules())),
              (HttpError{400, "The form has no part named file; send the script in it, or name "
                              "it among the files with entry in the options part."}));
}

TEST(ParseRunFile, TwoFilePartsAreABadRequest)
{
    const auto body = form({filePart("a"), filePart("b")});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message,
              "The form has more than one part named file.");
}

TEST(ParseRunFile, UnknownPartsAreNamed)
{
    const auto body =
        form({filePart("a"), {"Content-Disposition: form-data; name=\"stdin\"", "text"}});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message,
              "Unknown form part \"stdin\"; the form takes the parts file, options, files and "
              "archive.");
}

TEST(ParseRunFile, APartWithoutANameIsABadRequest)
{
    const auto body = form({{"Content-Type: text/plain", "a"}});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).status, 400);
}

TEST(ParseRunFile, AWrongBoundaryIsABadRequest)
{
    const auto body = form({filePart("a")}, "other");
    const std::string noParts = "The multipart/form-data body holds no parts; check its boundary.";
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message, noParts);
    EXPECT_EQ(refused(parseRunFile("multipart/form-data", body, {}, rules())).message,
              "The multipart/form-data Content-Type names no boundary.");
}

TEST(ParseRunFile, ManyPartsAreRefusedBeforeTheyAreParsed)
{
    std::vector<std::pair<std::string, std::string>> parts(maxFormParts + 1, filePart("a"));
    EXPECT_EQ(refused(parseRunFile(formType, form(parts), {}, rules())).message,
              "The form has more than 10003 parts; it takes the parts file, options and archive "
              "once each, and up to 10000 parts named files.");
}

TEST(ParseRunFile, APartWithHugeHeadersIsRefused)
{
    const std::string head(5000, 'x');
    const std::string body =
        "--b0undary\r\nContent-Disposition: form-data; name=\"file\"\r\nX: " + head +
        "\r\n\r\nprint(1)\r\n--b0undary--\r\n";
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message,
              "A part of the form has more than 4096 bytes of headers.");
}

TEST(ParseRunFile, GarbageIsABadRequest)
{
    for (const auto& body : {std::string(""), std::string("\0\0\0", 3), std::string("--b0undary"),
                             std::string("--b0undary--\r\n")})
    {
        EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).status, 400);
    }
}

TEST(ParseRunFile, AContentTypeWithLineBreaksIsABadRequest)
{
    EXPECT_EQ(refused(parseRunFile("multipart/form-data; boundary=x\r\nX-Evil: 1", "", {}, rules()))
                  .message,
              "The Content-Type header is malformed.");
}

TEST(ParseRunFile, ABinaryFileOverTheLimitIsTooLarge)
{
    EXPECT_EQ(
        refused(parseRunFile(formType, form({filePart(std::string(100, '\xFF'))}), {}, rules()))
            .status,
        413);
}

TEST(ParseRunJson, AHugeUnknownNameIsNotEchoedWhole)
{
    const auto error = refused(parseRunJson(
        "application/json", R"({"code": "", "environment": ")" + std::string(100000, 'e') + "\"}",
        {}, rules()));
    EXPECT_EQ(error.status, 400);
    EXPECT_LT(error.message.size(), 200U);
}

// Files in

using testing::ArchiveItem;
using testing::ArchiveKind;
using testing::makeArchive;
using testing::readTar;

std::vector<std::pair<std::string, std::string>> bundleFiles(const core::RunRequest& request)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& item : readTar(request.filesBundle))
    {
        if (item.type == AE_IFREG)
        {
            out.emplace_back(item.path, item.content);
        }
    }
    return out;
}

using Files = std::vector<std::pair<std::string, std::string>>;

TEST(ParseRunJson, FilesComeAsUtf8OrBase64)
{
    const auto request = acceptedJson(R"json({"entry": "main.py", "files": [
        {"path": "main.py", "content": "print('é')"},
        {"path": "data/b.bin", "content": "AP8B", "encoding": "base64"},
        {"path": "data/c.txt", "content": "plain", "encoding": "utf-8"}]})json");
    EXPECT_EQ(request.code, "");
    EXPECT_EQ(request.entry, "main.py");
    EXPECT_EQ(bundleFiles(request), (Files{{"data/b.bin", std::string("\0\xff\x01", 3)},
                                           {"data/c.txt", "plain"},
                                           {"main.py", "print('é')"}}));
}

TEST(ParseRunJson, CodeAloneBringsNoBundle)
{
    const auto request = acceptedJson(R"json({"code": "print(1)"})json");
    EXPECT_EQ(request.filesBundle, "");
    EXPECT_EQ(request.entry, "");
    EXPECT_EQ(
        bundleFiles(acceptedJson(R"({"code": "1", "files": [{"path": "a", "content": ""}]})")),
        (Files{{"a", ""}}));
}

TEST(ParseRunJson, BadFilesAreNamed)
{
    EXPECT_EQ(
        refusedJson(
            R"({"code": "", "files": [{"path": "a", "content": "!!", "encoding": "base64"}]})"),
        (HttpError{400, "files[0].content is not valid base64."}));
    EXPECT_EQ(refusedJson(
                  R"({"code": "", "files": [{"path": "a", "content": "", "encoding": "latin-1"}]})")
                  .message,
              "files[0].encoding must be \"utf-8\" or \"base64\".");
    EXPECT_EQ(refusedJson(R"({"code": "", "files": {"a": "b"}})").status, 400);
    EXPECT_EQ(refusedJson(R"({"code": "", "files": ["a"]})").status, 400);
    EXPECT_EQ(refusedJson(R"({"code": "", "files": [{"path": "a"}]})").message,
              "files[0] needs both path and content.");
    EXPECT_EQ(
        refusedJson(R"({"code": "", "files": [{"path": "a", "content": "", "mode": 7}]})").message,
        "Unknown field \"mode\" in files[0]; the known fields are path, content, encoding.");
    EXPECT_EQ(
        refusedJson(
            R"({"code": "", "files": [{"path": "a", "content": ""}, {"path": "a", "content": ""}, {"path": "../x", "content": ""}]})")
            .message,
        "files[1].path \"a\" is also files[0].path \"a\".");
    EXPECT_EQ(
        refusedJson(
            R"({"code": "", "files": [{"path": "ok", "content": ""}, {"path": "x", "content": ""}, {"path": "../x", "content": ""}]})"),
        (HttpError{400, "files[2].path \"../x\" has a \"..\" segment."}));
    EXPECT_EQ(refusedJson(R"({"code": "", "files": [{"path": "out/x", "content": ""}]})").message,
              "files[0].path \"out/x\" is under out/, which is kept for the run's reports.");
}

TEST(ParseRunJson, EitherCodeOrEntry)
{
    const std::string either =
        "Give either the script itself or entry, the script's path among the files, not both.";
    EXPECT_EQ(
        refusedJson(R"({"code": "", "entry": "a.py", "files": [{"path": "a.py", "content": ""}]})")
            .message,
        either);
    EXPECT_EQ(
        refusedJson(R"({"entry": "b.py", "files": [{"path": "a.py", "content": ""}]})").message,
        "entry \"b.py\" names none of the files.");
    EXPECT_EQ(refusedJson(R"({"entry": "a.py"})").status, 400);
    EXPECT_EQ(refusedJson(R"({"entry": ""})").message,
              "entry must be a string naming the script among the files.");
}

TEST(ParseRunJson, FilesLimitsAreRequestedAndEnforced)
{
    const std::string files =
        R"("files": [{"path": "a", "content": "12345"}, {"path": "b", "content": "67890"}])";
    EXPECT_EQ(
        refusedJson(R"({"code": "", "limits": {"files_count": 1}, )" + files + "}"),
        (HttpError{413, "files[1].path \"b\" is one file more than files_count (1) allows."}));
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"files_bytes": 9}, )" + files + "}"),
              (HttpError{413, "files[1].path \"b\" takes the files past files_bytes (9 bytes)."}));
    const auto request = acceptedJson(
        R"({"code": "", "limits": {"files_count": 2, "files_bytes": 10}, )" + files + "}");
    EXPECT_EQ(request.limits.filesCount, 2U);
    EXPECT_EQ(request.limits.filesBytes, 10U);
    EXPECT_EQ(refusedJson(R"({"code": "", "limits": {"files_count": 10001}})").message,
              "limits.files_count must be between 1 and 10000.");
}

std::pair<std::string, std::string> filesPart(const std::string& filename,
                                              const std::string& content)
{
    return {"Content-Disposition: form-data; name=\"files\"; filename=\"" + filename +
                "\"\r\nContent-Type: application/octet-stream",
            content};
}

std::pair<std::string, std::string> archivePart(const std::string& content)
{
    return {"Content-Disposition: form-data; name=\"archive\"; filename=\"project.tar.gz\"\r\n"
            "Content-Type: application/octet-stream",
            content};
}

TEST(ParseRunFile, FilesPartsAndAnArchive)
{
    const auto archive =
        makeArchive(ArchiveKind::TarGz, {{.path = "pkg/__init__.py", .content = ""},
                                         {.path = "pkg/main.py", .content = "M"}});
    const auto body = form({filesPart("data/sales.csv", "a,b\n"), filesPart("x.bin", "\x01\x02"),
                            archivePart(archive), optionsPart(R"({"entry": "pkg/main.py"})")});
    const auto request = accepted(parseRunFile(formType, body, {}, rules()));
    EXPECT_EQ(request.entry, "pkg/main.py");
    EXPECT_EQ(bundleFiles(request), (Files{{"data/sales.csv", "a,b\n"},
                                           {"pkg/__init__.py", ""},
                                           {"pkg/main.py", "M"},
                                           {"x.bin", "\x01\x02"}}));
    EXPECT_EQ(bundleFiles(accepted(parseRunFile(
                  formType, form({filePart("print(1)"), filesPart("d.txt", "D")}), {}, rules()))),
              (Files{{"d.txt", "D"}}));
}

TEST(ParseRunFile, BadFilesPartsAndArchivesAreNamed)
{
    const auto parse = [](const std::vector<std::pair<std::string, std::string>>& parts) {
        return refused(parseRunFile(formType, form(parts), {}, rules()));
    };
    EXPECT_EQ(parse({filePart("1"), filesPart("ok", ""), filesPart("../x", "")}),
              (HttpError{400, "files[1].filename \"../x\" has a \"..\" segment."}));
    EXPECT_EQ(
        parse({filePart("1"), {"Content-Disposition: form-data; name=\"files\"", "x"}}).message,
        "The form part files[0] has no filename; it names the file's path in the working "
        "directory.");
    EXPECT_EQ(parse({filePart("1"), archivePart("a"), archivePart("b")}).message,
              "The form has more than one part named archive.");
    EXPECT_EQ(parse({filePart("1"), archivePart(makeArchive(
                                        ArchiveKind::Zip, {{.path = "../evil", .content = ""}}))}),
              (HttpError{400, "archive entry \"../evil\" has a \"..\" segment."}));
    EXPECT_EQ(
        parse({filePart("1"), optionsPart(R"({"entry": "a.py"})"), filesPart("a.py", "")}).message,
        "Give either the script itself or entry, the script's path among the files, not "
        "both.");
    EXPECT_EQ(parse({optionsPart(R"({"entry": "a.py"})"), filesPart("b.py", "")}).message,
              "entry \"a.py\" names none of the files.");
    EXPECT_EQ(parse({filePart("1"), optionsPart(R"({"files": []})")}).status, 400);
}

TEST(ParseRunFile, ArchiveLimitsAre413)
{
    const auto bomb = makeArchive(ArchiveKind::Zip, {{.path = "zeros", .zeros = 64 * mebibyte}});
    const auto body = form(
        {filePart("1"), archivePart(bomb), optionsPart(R"({"limits": {"files_bytes": 1048576}})")});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())),
              (HttpError{413, "archive entry \"zeros\" takes the files past files_bytes (1048576 "
                              "bytes)."}));
    std::vector<ArchiveItem> many;
    for (int i = 0; i < 101; ++i)
    {
        many.push_back({.path = "f" + std::to_string(i), .content = "x"});
    }
    EXPECT_EQ(refused(parseRunFile(
                  formType, form({filePart("1"), archivePart(makeArchive(ArchiveKind::Zip, many))}),
                  {}, rules())),
              (HttpError{413, "archive entry \"f100\" is one file more than files_count (100) "
                              "allows."}));
}

TEST(ParseRunFile, FilesMustFitDiskMb)
{
    const auto big = makeArchive(ArchiveKind::TarXz, {{.path = "zeros", .zeros = 3 * mebibyte}});
    const auto body =
        form({filePart("1"), archivePart(big), optionsPart(R"({"limits": {"disk_mb": 2}})")});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())),
              (HttpError{413, "archive entry \"zeros\" takes the files past what fits in disk_mb "
                              "(2 MiB)."}));
}

TEST(ParseRunFile, APartWithManyHeaderLinesIsRefused)
{
    std::string head;
    for (int i = 0; i < 20; ++i)
    {
        head += "\r\nX-" + std::to_string(i) + ": 1";
    }
    const std::string body = "--b0undary\r\nContent-Disposition: form-data; name=\"file\"" + head +
                             "\r\n\r\nprint(1)\r\n--b0undary--\r\n";
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message,
              "A part of the form has more than 8 header lines.");
}

} // namespace
} // namespace pyrunner::http
