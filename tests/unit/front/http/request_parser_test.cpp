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
              "cpu_percent, tasks, output_bytes, disk_mb.");
    EXPECT_EQ(refusedJson(nested(32)).message, "The request body nests deeper than 32 levels.");
}

TEST(ParseRunJson, MissingCodeIsABadRequest)
{
    EXPECT_EQ(refusedJson(R"({"stdin": ""})"),
              (HttpError{400, "The request body has no code; put the Python source in \"code\"."}));
}

TEST(ParseRunJson, UnknownFieldsAreNamed)
{
    EXPECT_EQ(refusedJson(R"({"code": "", "timeout": 5})"),
              (HttpError{400, "Unknown field \"timeout\" in the request body; the known fields "
                              "are code, stdin, args, environment, requirements, limits, wait."}));
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
              "memory_mb, cpu_percent, tasks, output_bytes, disk_mb.");
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
                         "args, environment, requirements, limits, wait.");
    check(R"({"environment": "nope"})",
          "Unknown environment \"nope\"; available: default, science.");
    check(R"({"limits": {"tasks": 1000}})", "limits.tasks must be between 1 and 256.");
    check(R"({"limits": {"disk_mb": 4097}})", "limits.disk_mb must be between 1 and 4096.");
}

TEST(ParseRunFile, AMissingFilePartIsABadRequest)
{
    EXPECT_EQ(refused(parseRunFile(formType, form({optionsPart("{}")}), {}, rules())),
              (HttpError{400, "The form has no part named file; send the script in it."}));
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
              "Unknown form part \"stdin\"; the form takes the parts file and options.");
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
    const auto body = form({filePart("a"), filePart("b"), filePart("c")});
    EXPECT_EQ(refused(parseRunFile(formType, body, {}, rules())).message,
              "The form has more than 2 parts; it takes the parts file and options.");
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

} // namespace
} // namespace pyrunner::http
