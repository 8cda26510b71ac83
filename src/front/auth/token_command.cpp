#include "front/auth/token_command.hpp"

#include "common/callback_key.hpp"
#include "common/tenant.hpp"
#include "common/text.hpp"
#include "front/auth/token.hpp"
#include "front/auth/tokens_file.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <ostream>
#include <vector>

namespace pyrunner::auth
{
namespace
{

// The caps a tenant may have of its own, as its tokens file allows them.
constexpr core::Bound cpuPercentBound{1, core::maxTenantCpuPercent};
constexpr core::Bound memoryMbBound{core::minTenantMemoryMb, core::maxTenantMemoryMb};

constexpr std::string_view nameRule =
    "a tenant's name is lowercase letters, digits and '_', a letter first, at most 32: it "
    "becomes part of its slice's name, pyrunner-NAME.slice, and systemd reads each '-' there as "
    "one more level of slices, which would put one tenant's slice inside another's";

std::string refusedName(const std::string& name)
{
    return "pyrunnerd: \"" + name + "\" is not a tenant name; " + std::string(nameRule) + ".\n";
}

std::string utcNow()
{
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::array<char, sizeof("0000-00-00T00:00:00Z")> text{};
    std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text.data();
}

template <typename T> std::string capText(const std::optional<T>& cap)
{
    return cap ? std::to_string(*cap) : "none";
}

std::string capText(std::uint64_t cap)
{
    return cap == 0 ? "none" : std::to_string(cap);
}

std::string settingsText(const Tenant& t)
{
    return std::string("admin ") + (t.admin ? "yes" : "no") + ", max_running " +
           capText(t.maxRunning) + ", max_queued " + capText(t.maxQueued) + ", cpu_percent " +
           capText(std::uint64_t{t.caps.cpuPercent}) + ", memory_mb " + capText(t.caps.memoryMb);
}

void apply(const TenantOptions& options, Tenant& tenant)
{
    if (options.admin)
    {
        tenant.admin = *options.admin;
    }
    if (options.maxRunning)
    {
        tenant.maxRunning = options.maxRunning->value;
    }
    if (options.maxQueued)
    {
        tenant.maxQueued = options.maxQueued->value;
    }
    if (options.cpuPercent)
    {
        tenant.caps.cpuPercent = static_cast<std::uint32_t>(options.cpuPercent->value.value_or(0));
    }
    if (options.memoryMb)
    {
        tenant.caps.memoryMb = options.memoryMb->value.value_or(0);
    }
}

std::string idsOf(const TenantRecord& record)
{
    std::string ids;
    for (const auto& token : record.tokens)
    {
        ids += (ids.empty() ? "" : ", ") + token.id;
    }
    return ids;
}

TenantRecords::iterator findTenant(TenantRecords& records, const std::string& name)
{
    return std::find_if(records.begin(), records.end(),
                        [&name](const auto& record) { return record.tenant.name == name; });
}

void addCapOption(CLI::App& command, const std::string& flag, std::optional<std::string>& text,
                  core::Bound bound, const std::string& what)
{
    command
        .add_option(flag, text,
                    what + " (" + std::to_string(bound.min) + " to " + std::to_string(bound.max) +
                        ", or none)")
        ->check([bound](const std::string& value) {
            return parseCapSetting(value, bound)
                       ? std::string{}
                       : "must be none or an integer from " + std::to_string(bound.min) + " to " +
                             std::to_string(bound.max);
        });
}

std::optional<CapSetting> capOf(const std::optional<std::string>& text, core::Bound bound)
{
    return text ? parseCapSetting(*text, bound) : std::nullopt;
}

void printTable(const std::vector<std::array<std::string, 8>>& rows, std::ostream& out)
{
    std::array<std::size_t, 8> widths{};
    for (const auto& row : rows)
    {
        for (std::size_t i = 0; i < row.size(); ++i)
        {
            widths.at(i) = std::max(widths.at(i), row.at(i).size());
        }
    }
    for (const auto& row : rows)
    {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
        {
            line += row.at(i);
            if (i + 1 < row.size())
            {
                line += std::string(widths.at(i) - row.at(i).size() + 2, ' ');
            }
        }
        out << line << "\n";
    }
}

} // namespace

std::optional<CapSetting> parseCapSetting(std::string_view text, core::Bound bound)
{
    if (text == "none")
    {
        return CapSetting{};
    }
    const auto value = core::parseUnsigned(text);
    if (!value || *value < bound.min || *value > bound.max)
    {
        return std::nullopt;
    }
    return CapSetting{*value};
}

CLI::App* addTokenCommand(CLI::App& app, TokenCommandLine& line)
{
    namespace bounds = core::bounds;
    auto* token = app.add_subcommand(
        "token", "manage the tenants' bearer tokens (as root); a running server sees each change "
                 "at its next request");
    token->require_subcommand(1);
    token->add_option("--tokens", line.tokensFile,
                      "the tokens file (default: [auth] tokens_file of --config)");

    line.create = token->add_subcommand(
        "create", "print a new token for tenant NAME, once; a NAME with tokens gets one more");
    line.create->add_option("name", line.name, "the tenant")->required();
    auto* admin = line.create->add_flag("--admin", line.admin,
                                        "the tenant sees every tenant's runs and the metrics");
    line.create->add_flag("--no-admin", line.notAdmin, "the tenant sees its own runs alone")
        ->excludes(admin);
    addCapOption(*line.create, "--max-running", line.maxRunning, bounds::maxRunning,
                 "the tenant's runs executing at once");
    addCapOption(*line.create, "--max-queued", line.maxQueued, bounds::maxQueued,
                 "the tenant's runs waiting");
    addCapOption(*line.create, "--cpu-percent", line.cpuPercent, cpuPercentBound,
                 "percent of one CPU for all the tenant's runs together");
    addCapOption(*line.create, "--memory-mb", line.memoryMb, memoryMbBound,
                 "memory in MiB for all the tenant's runs together");

    line.list = token->add_subcommand("list", "list the tenants, their settings and tokens' ids");

    line.revoke = token->add_subcommand(
        "revoke", "remove tenant NAME and its tokens, or with --id only that token");
    line.revoke->add_option("name", line.name, "the tenant")->required();
    line.revoke->add_option("--id", line.id, "the token's id, as `token list` shows it");

    line.key = token->add_subcommand(
        "key", "print the key that signs tenant NAME's callbacks (X-Pyrunner-Signature)");
    line.key->add_option("name", line.name, "the tenant")->required();
    return token;
}

int runTokenCommand(const TokenCommandLine& line, const std::string& tokensFile, std::ostream& out,
                    std::ostream& err)
{
    if (line.create != nullptr && line.create->parsed())
    {
        TenantOptions options;
        if (line.admin || line.notAdmin)
        {
            options.admin = line.admin;
        }
        options.maxRunning = capOf(line.maxRunning, core::bounds::maxRunning);
        options.maxQueued = capOf(line.maxQueued, core::bounds::maxQueued);
        options.cpuPercent = capOf(line.cpuPercent, cpuPercentBound);
        options.memoryMb = capOf(line.memoryMb, memoryMbBound);
        return createToken(tokensFile, line.name, options, out, err);
    }
    if (line.revoke != nullptr && line.revoke->parsed())
    {
        return revokeTokens(tokensFile, line.name, line.id, out, err);
    }
    if (line.key != nullptr && line.key->parsed())
    {
        return showCallbackKey(tokensFile, line.name, out, err);
    }
    return listTokens(tokensFile, out, err);
}

int createToken(const std::string& tokensFile, const std::string& name,
                const TenantOptions& options, std::ostream& out, std::ostream& err)
{
    if (!core::isTenantName(name))
    {
        err << refusedName(name);
        return 1;
    }
    const auto token = newToken();
    const TokenRecord record{tokenIdOf(tokenHash(token)), tokenHash(token), utcNow()};
    TenantRecord after;
    std::string oldIds;
    const auto fault = changeTokensFile(tokensFile, [&](TenantRecords& records) {
        auto it = findTenant(records, name);
        if (it == records.end())
        {
            TenantRecord fresh;
            fresh.tenant.name = name;
            it = records.insert(records.end(), std::move(fresh));
        }
        oldIds = idsOf(*it);
        apply(options, it->tenant);
        if (it->tenant.callbackKey.empty())
        {
            it->tenant.callbackKey = core::newCallbackKey();
        }
        it->tokens.push_back(record);
        after = *it;
        return std::optional<std::string>{};
    });
    if (fault)
    {
        err << "pyrunnerd: " << *fault << "\n";
        return 1;
    }
    out << token << "\n";
    err << "pyrunnerd: tenant " << name << " has "
        << (oldIds.empty() ? "a new token" : "one more token") << ", id " << record.id << " ("
        << settingsText(after.tenant) << "). It is shown once, on standard output; it is stored "
        << "hashed, in " << tokensFile << ".";
    if (!oldIds.empty())
    {
        err << " Once it is in use, revoke the one it replaces: pyrunnerd token revoke " << name
            << " --id ID (" << name << "'s other tokens: " << oldIds << ").";
    }
    err << "\npyrunnerd: callback key of tenant " << name << " (it signs X-Pyrunner-Signature; "
        << "`pyrunnerd token key " << name << "` prints it alone): " << after.tenant.callbackKey
        << "\n";
    return 0;
}

int showCallbackKey(const std::string& tokensFile, const std::string& name, std::ostream& out,
                    std::ostream& err)
{
    if (!core::isTenantName(name))
    {
        err << refusedName(name);
        return 1;
    }
    auto read = readTokensFile(tokensFile);
    if (const auto* fault = std::get_if<std::string>(&read))
    {
        err << "pyrunnerd: " << *fault << "\n";
        return 1;
    }
    const auto& records = std::get<TenantRecords>(read);
    const auto it = std::find_if(records.begin(), records.end(), [&name](const auto& record) {
        return record.tenant.name == name;
    });
    if (it == records.end())
    {
        err << "pyrunnerd: " << tokensFile << " holds no tenant " << name << ".\n";
        return 1;
    }
    if (it->tenant.callbackKey.empty())
    {
        err << "pyrunnerd: tenant " << name << " has no callback key yet; `pyrunnerd token create "
            << name << "` makes one (and a token).\n";
        return 1;
    }
    out << it->tenant.callbackKey << "\n";
    return 0;
}

int listTokens(const std::string& tokensFile, std::ostream& out, std::ostream& err)
{
    auto read = readTokensFile(tokensFile);
    if (const auto* fault = std::get_if<std::string>(&read))
    {
        err << "pyrunnerd: " << *fault << "\n";
        return 1;
    }
    std::vector<std::array<std::string, 8>> rows{{"NAME", "ADMIN", "MAX_RUNNING", "MAX_QUEUED",
                                                  "CPU_PERCENT", "MEMORY_MB", "TOKEN", "CREATED"}};
    for (const auto& record : std::get<TenantRecords>(read))
    {
        const auto& t = record.tenant;
        const auto dash = [](const std::string& text) { return text == "none" ? "-" : text; };
        const std::array<std::string, 6> settings{t.name,
                                                  t.admin ? "yes" : "no",
                                                  dash(capText(t.maxRunning)),
                                                  dash(capText(t.maxQueued)),
                                                  dash(capText(std::uint64_t{t.caps.cpuPercent})),
                                                  dash(capText(t.caps.memoryMb))};
        auto row = [&settings](const std::string& id, const std::string& created) {
            return std::array<std::string, 8>{settings[0], settings[1], settings[2], settings[3],
                                              settings[4], settings[5], id,          created};
        };
        if (record.tokens.empty())
        {
            rows.push_back(row("-", "-"));
        }
        for (const auto& token : record.tokens)
        {
            rows.push_back(row(token.id, token.created));
        }
    }
    printTable(rows, out);
    return 0;
}

int revokeTokens(const std::string& tokensFile, const std::string& name,
                 const std::optional<std::string>& id, std::ostream& out, std::ostream& err)
{
    if (!core::isTenantName(name))
    {
        err << refusedName(name);
        return 1;
    }
    if (id && (id->size() != tokenIdLength ||
               id->find_first_not_of("0123456789abcdef") != std::string::npos))
    {
        err << "pyrunnerd: --id takes a token's id, 12 hex digits as `pyrunnerd token list` "
               "shows it, not \""
            << *id << "\".\n";
        return 1;
    }
    std::string done;
    const auto fault = changeTokensFile(tokensFile, [&](TenantRecords& records) {
        const auto it = findTenant(records, name);
        if (it == records.end())
        {
            return std::optional<std::string>(tokensFile + " holds no tenant " + name + ".");
        }
        if (!id)
        {
            const auto count = it->tokens.size();
            done =
                "revoked tenant " + name +
                (count == 1 ? " and its token." : " and its " + std::to_string(count) + " tokens.");
            records.erase(it);
            return std::optional<std::string>{};
        }
        auto& tokens = it->tokens;
        const auto token = std::find_if(tokens.begin(), tokens.end(),
                                        [&id](const auto& t) { return t.id == *id; });
        if (token == tokens.end())
        {
            return std::optional<std::string>("tenant " + name + " has no token " + *id +
                                              "; its tokens: " + idsOf(*it) + ".");
        }
        tokens.erase(token);
        done = "revoked token " + *id + " of tenant " + name + "; ";
        if (tokens.empty())
        {
            done += "it was the last, so the tenant and its settings are gone too.";
            records.erase(it);
        }
        else
        {
            done += std::to_string(tokens.size()) + " left.";
        }
        return std::optional<std::string>{};
    });
    if (fault)
    {
        err << "pyrunnerd: " << *fault << "\n";
        return 1;
    }
    out << "pyrunnerd: " << done << "\n";
    return 0;
}

} // namespace pyrunner::auth
