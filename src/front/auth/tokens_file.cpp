#include "front/auth/tokens_file.hpp"

#include "common/callback_key.hpp"
#include "common/fd.hpp"
#include "common/run_id.hpp"
#include "config/config.hpp"
#include "front/auth/token.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pyrunner::auth
{
namespace
{

using Json = nlohmann::json;

constexpr std::uint64_t fileVersion = 1;
// Root's file with a hash or two a tenant; anything far larger is not one.
constexpr std::size_t maxFileBytes = 16ULL * 1024ULL * 1024ULL;
constexpr std::size_t sha256HexLength = 64;
constexpr mode_t fileMode = 0640;

const std::set<std::string, std::less<>> fileKeys{"version", "tenants"};
const std::set<std::string, std::less<>> tenantKeys{"admin",       "max_running", "max_queued",
                                                    "cpu_percent", "memory_mb",   "tokens"};
const std::set<std::string, std::less<>> tokenKeys{"id", "sha256", "created"};
// A tenant's keys that a file written before they existed lacks.
const std::set<std::string, std::less<>> optionalTenantKeys{"callback_key"};
const std::set<std::string, std::less<>> noKeys{};

// A fault found inside the document, as one sentence without the file's name.
struct Fault
{
    std::string sentence;
};

std::string names(const std::set<std::string, std::less<>>& keys)
{
    std::string text;
    for (const auto& key : keys)
    {
        text += (text.empty() ? "" : ", ") + key;
    }
    return text;
}

// Exactly `keys`, no more and no fewer, and any of `optional`.
void checkKeys(const Json& object, const std::set<std::string, std::less<>>& keys,
               const std::string& what, const std::set<std::string, std::less<>>& optional = noKeys)
{
    if (!object.is_object())
    {
        throw Fault{what + " must be a JSON object"};
    }
    for (const auto& [key, value] : object.items())
    {
        if (!keys.contains(key) && !optional.contains(key))
        {
            std::string sentence = what;
            sentence.append(" has the unknown key \"").append(key).append("\"; it takes ");
            auto taken = keys;
            taken.insert(optional.begin(), optional.end());
            throw Fault{sentence + names(taken)};
        }
    }
    for (const auto& key : keys)
    {
        if (!object.contains(key))
        {
            std::string sentence = what;
            sentence.append(" lacks the key \"").append(key).append("\"");
            throw Fault{sentence};
        }
    }
}

// null, or a whole number within [min, max].
std::optional<std::uint64_t> optionalNumber(const Json& value, std::uint64_t min, std::uint64_t max,
                                            const std::string& what)
{
    if (value.is_null())
    {
        return std::nullopt;
    }
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() < min ||
        value.get<std::uint64_t>() > max)
    {
        throw Fault{what + " must be null or an integer from " + std::to_string(min) + " to " +
                    std::to_string(max)};
    }
    return value.get<std::uint64_t>();
}

bool isLowerHex(std::string_view text)
{
    return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// "YYYY-MM-DDTHH:MM:SSZ", what tokens are stamped with.
bool isUtcTimestamp(std::string_view text)
{
    constexpr std::string_view shape = "0000-00-00T00:00:00Z";
    if (text.size() != shape.size())
    {
        return false;
    }
    for (std::size_t i = 0; i < shape.size(); ++i)
    {
        const bool matches =
            shape[i] == '0' ? (text[i] >= '0' && text[i] <= '9') : text[i] == shape[i];
        if (!matches)
        {
            return false;
        }
    }
    return true;
}

std::string stringOf(const Json& value, const std::string& what)
{
    if (!value.is_string())
    {
        throw Fault{what + " must be a string"};
    }
    return value.get<std::string>();
}

TokenRecord readToken(const Json& json, const std::string& what)
{
    checkKeys(json, tokenKeys, what);
    TokenRecord token{stringOf(json.at("id"), what + "'s id"),
                      stringOf(json.at("sha256"), what + "'s sha256"),
                      stringOf(json.at("created"), what + "'s created")};
    if (token.sha256.size() != sha256HexLength || !isLowerHex(token.sha256))
    {
        throw Fault{what + "'s sha256 must be 64 lowercase hex digits"};
    }
    if (token.id != tokenIdOf(token.sha256))
    {
        throw Fault{what + "'s id must be the first 12 hex digits of its sha256"};
    }
    if (!isUtcTimestamp(token.created))
    {
        throw Fault{what + "'s created must be a UTC time such as \"2024-05-01T12:00:00Z\""};
    }
    return token;
}

TenantRecord readTenant(const std::string& name, const Json& json)
{
    if (!core::isTenantName(name))
    {
        throw Fault{"\"" + name +
                    "\" is not a tenant name: lowercase letters, digits and '_', a letter "
                    "first, at most 32"};
    }
    const auto what = "tenant " + name;
    checkKeys(json, tenantKeys, what, optionalTenantKeys);
    TenantRecord record;
    record.tenant.name = name;
    if (json.contains("callback_key"))
    {
        const auto& key = json.at("callback_key");
        if (!key.is_string() || !core::isCallbackKey(key.get_ref<const std::string&>()))
        {
            throw Fault{what + "'s callback_key must be 64 lowercase hex digits"};
        }
        record.tenant.callbackKey = key.get<std::string>();
    }
    if (!json.at("admin").is_boolean())
    {
        throw Fault{what + "'s admin must be true or false"};
    }
    record.tenant.admin = json.at("admin").get<bool>();
    namespace bounds = core::bounds;
    record.tenant.maxRunning = optionalNumber(json.at("max_running"), bounds::maxRunning.min,
                                              bounds::maxRunning.max, what + "'s max_running");
    record.tenant.maxQueued = optionalNumber(json.at("max_queued"), bounds::maxQueued.min,
                                             bounds::maxQueued.max, what + "'s max_queued");
    const auto cpu = optionalNumber(json.at("cpu_percent"), 0, core::maxTenantCpuPercent,
                                    what + "'s cpu_percent");
    const auto memory =
        optionalNumber(json.at("memory_mb"), 0, core::maxTenantMemoryMb, what + "'s memory_mb");
    record.tenant.caps.cpuPercent = static_cast<std::uint32_t>(cpu.value_or(0));
    record.tenant.caps.memoryMb = memory.value_or(0);
    if (!core::areTenantCaps(record.tenant.caps))
    {
        throw Fault{what + "'s memory_mb must be null or at least " +
                    std::to_string(core::minTenantMemoryMb)};
    }
    const auto& tokens = json.at("tokens");
    if (!tokens.is_array())
    {
        throw Fault{what + "'s tokens must be a JSON array"};
    }
    for (const auto& token : tokens)
    {
        record.tokens.push_back(
            readToken(token, what + "'s token " + std::to_string(record.tokens.size() + 1)));
    }
    return record;
}

// The document, where each object's keys are told apart: JSON leaves a repeated key to the
// reader, and this one would keep the last of two entries for one tenant without a word.
Json parseWithoutRepeatedKeys(std::string_view text)
{
    std::vector<std::set<std::string, std::less<>>> keysOfOpenObjects;
    std::optional<std::string> repeated;
    auto noteKeys = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
        switch (event)
        {
        case Json::parse_event_t::object_start:
            keysOfOpenObjects.emplace_back();
            break;
        case Json::parse_event_t::object_end:
            keysOfOpenObjects.pop_back();
            break;
        case Json::parse_event_t::key:
            if (!keysOfOpenObjects.back().insert(parsed.get<std::string>()).second && !repeated)
            {
                repeated = parsed.get<std::string>();
            }
            break;
        default:
            break;
        }
        return true;
    };
    auto json = Json::parse(text.begin(), text.end(), noteKeys, false);
    if (json.is_discarded())
    {
        throw Fault{"not valid JSON"};
    }
    if (repeated)
    {
        throw Fault{"the key \"" + *repeated + "\" appears twice in one object"};
    }
    return json;
}

TenantRecords readDocument(std::string_view text)
{
    const auto json = parseWithoutRepeatedKeys(text);
    checkKeys(json, fileKeys, "the file");
    if (!json.at("version").is_number_unsigned() ||
        json.at("version").get<std::uint64_t>() != fileVersion)
    {
        throw Fault{"version must be 1, the only version this pyrunnerd reads"};
    }
    if (!json.at("tenants").is_object())
    {
        throw Fault{"tenants must be a JSON object of tenant names"};
    }
    TenantRecords records;
    std::set<std::string, std::less<>> hashes;
    for (const auto& [name, tenant] : json.at("tenants").items())
    {
        records.push_back(readTenant(name, tenant));
        for (const auto& token : records.back().tokens)
        {
            if (!hashes.insert(token.sha256).second)
            {
                throw Fault{"the token " + token.id + " appears twice"};
            }
        }
    }
    return records;
}

std::string systemError(const std::string& what, int error)
{
    return what + ": " + std::strerror(error) + ".";
}

// The file `name` in the directory open at `dirFd`, named `path` in faults.
std::variant<TenantRecords, std::string> readAt(int dirFd, const std::string& name,
                                                const std::string& path)
{
    const core::UniqueFd fd(
        ::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd)
    {
        const int error = errno;
        if (error == ENOENT)
        {
            return TenantRecords{};
        }
        if (error == ELOOP)
        {
            return path + ": is a symbolic link; pyrunner reads only a file of its own there.";
        }
        return systemError(path + ": cannot be opened", error);
    }
    struct stat status
    {
    };
    if (::fstat(fd.get(), &status) != 0)
    {
        return systemError(path + ": cannot be examined", errno);
    }
    if (!S_ISREG(status.st_mode))
    {
        return path + ": is not a regular file.";
    }
    if (static_cast<std::uint64_t>(status.st_size) > maxFileBytes)
    {
        return path + ": is larger than 16 MiB; a tokens file is a few lines a tenant.";
    }
    std::string text(static_cast<std::size_t>(status.st_size) + 1, '\0');
    std::size_t filled = 0;
    while (filled < text.size())
    {
        const auto got = ::read(fd.get(), text.data() + filled, text.size() - filled);
        if (got < 0 && errno == EINTR)
        {
            continue;
        }
        if (got < 0)
        {
            return systemError(path + ": cannot be read", errno);
        }
        if (got == 0)
        {
            break;
        }
        filled += static_cast<std::size_t>(got);
    }
    if (filled > maxFileBytes)
    {
        return path + ": is larger than 16 MiB; a tokens file is a few lines a tenant.";
    }
    text.resize(filled);
    return parseTokensFile(text, path);
}

bool writeAll(int fd, std::string_view text)
{
    while (!text.empty())
    {
        const auto wrote = ::write(fd, text.data(), text.size());
        if (wrote < 0 && errno == EINTR)
        {
            continue;
        }
        if (wrote <= 0)
        {
            return false;
        }
        text.remove_prefix(static_cast<std::size_t>(wrote));
    }
    return true;
}

// Writes `text` as `name` in the directory open at `dirFd` (whose owner and group the file
// takes) through a new file renamed over it; nothing, or why not.
std::optional<std::string> replaceAt(int dirFd, const std::string& name, const std::string& path,
                                     std::string_view text)
{
    struct stat directory
    {
    };
    if (::fstat(dirFd, &directory) != 0)
    {
        return systemError("the directory of " + path + " cannot be examined", errno);
    }
    const auto temporary = "." + name + ".new-" + core::newRunId();
    core::UniqueFd fd(::openat(dirFd, temporary.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd)
    {
        return systemError("a new " + path + " cannot be created", errno);
    }
    // The directory's owner could replace the file anyway; its group is the one meant to read
    // it. fchmod after fchown, and both before any byte is written.
    std::optional<std::string> fault;
    if (::fchown(fd.get(), directory.st_uid, directory.st_gid) != 0)
    {
        fault = systemError("a new " + path + " cannot be given its directory's owner", errno);
    }
    else if (::fchmod(fd.get(), fileMode) != 0)
    {
        fault = systemError("a new " + path + " cannot be made mode 0640", errno);
    }
    else if (!writeAll(fd.get(), text) || ::fsync(fd.get()) != 0)
    {
        fault = systemError("a new " + path + " cannot be written", errno);
    }
    else if (::renameat(dirFd, temporary.c_str(), dirFd, name.c_str()) != 0)
    {
        fault = systemError(path + " cannot be replaced", errno);
    }
    else
    {
        // The rename itself is durable once the directory is; the file is complete either way.
        if (::fsync(dirFd) != 0)
        {
            return systemError(path + " was replaced, but its directory cannot be synced", errno);
        }
        return std::nullopt;
    }
    ::unlinkat(dirFd, temporary.c_str(), 0);
    return fault;
}

} // namespace

std::variant<TenantRecords, std::string> parseTokensFile(std::string_view text,
                                                         std::string_view path)
{
    try
    {
        return readDocument(text);
    }
    catch (const Fault& fault)
    {
        return std::string(path) + ": " + fault.sentence + ".";
    }
}

std::string tokensFileText(const TenantRecords& records)
{
    // In the order a reader expects, not the alphabet's.
    using Ordered = nlohmann::ordered_json;
    auto number = [](const auto& value) { return value ? Ordered(*value) : Ordered(nullptr); };
    auto cap = [](std::uint64_t value) { return value == 0 ? Ordered(nullptr) : Ordered(value); };
    Ordered tenants = Ordered::object();
    for (const auto& record : records)
    {
        Ordered tokens = Ordered::array();
        for (const auto& token : record.tokens)
        {
            tokens.push_back(
                {{"id", token.id}, {"sha256", token.sha256}, {"created", token.created}});
        }
        const auto& t = record.tenant;
        Ordered tenant = {{"admin", t.admin},
                          {"max_running", number(t.maxRunning)},
                          {"max_queued", number(t.maxQueued)},
                          {"cpu_percent", cap(t.caps.cpuPercent)},
                          {"memory_mb", cap(t.caps.memoryMb)}};
        if (!t.callbackKey.empty())
        {
            tenant["callback_key"] = t.callbackKey;
        }
        tenant["tokens"] = tokens;
        tenants[t.name] = std::move(tenant);
    }
    const Ordered file{{"version", fileVersion}, {"tenants", tenants}};
    return file.dump(2) + "\n";
}

std::variant<TenantRecords, std::string> readTokensFile(const std::string& path)
{
    return readAt(AT_FDCWD, path, path);
}

std::optional<std::string> changeTokensFile(const std::string& path, const TokensChange& change)
{
    const std::filesystem::path file(path);
    const auto name = file.filename().string();
    if (name.empty() || name == "." || name == "..")
    {
        return path + ": names no file.";
    }
    const auto directory = file.has_parent_path() ? file.parent_path().string() : ".";
    const core::UniqueFd dirFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd)
    {
        return systemError("the directory " + directory + " cannot be opened", errno);
    }
    // Each `pyrunnerd token` reads, changes and replaces the file under this lock: two at once
    // would otherwise each write what it read, and one's change would be lost.
    while (::flock(dirFd.get(), LOCK_EX) != 0)
    {
        if (errno != EINTR)
        {
            return systemError("the directory " + directory + " cannot be locked", errno);
        }
    }
    auto read = readAt(dirFd.get(), name, path);
    if (auto* fault = std::get_if<std::string>(&read))
    {
        return *fault + " Nothing was changed: fix or remove the file first.";
    }
    auto records = std::get<TenantRecords>(std::move(read));
    if (auto refusal = change(records))
    {
        return refusal;
    }
    std::sort(records.begin(), records.end(),
              [](const auto& a, const auto& b) { return a.tenant.name < b.tenant.name; });
    return replaceAt(dirFd.get(), name, path, tokensFileText(records));
}

} // namespace pyrunner::auth
