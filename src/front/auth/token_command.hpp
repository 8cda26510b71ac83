#pragma once

#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::auth
{

// One cap as a command line gives it: a number, or none (nothing of the tenant's own).
struct CapSetting
{
    std::optional<std::uint64_t> value;

    bool operator==(const CapSetting&) const = default;
};

// "none", or a whole number within `bound`; nothing for any other text.
std::optional<CapSetting> parseCapSetting(std::string_view text, core::Bound bound);

// The settings `token create` was given; each one not given keeps what the tenant has (or the
// default: no admin, no caps of its own).
struct TenantOptions
{
    std::optional<bool> admin;
    std::optional<CapSetting> maxRunning;
    std::optional<CapSetting> maxQueued;
    std::optional<CapSetting> cpuPercent;
    std::optional<CapSetting> memoryMb;
};

// What `pyrunnerd token ...` was given.
struct TokenCommandLine
{
    // --tokens; none: [auth] tokens_file of the configuration.
    std::optional<std::string> tokensFile;
    std::string name;
    std::optional<std::string> id;
    bool admin = false;
    bool notAdmin = false;
    std::optional<std::string> maxRunning;
    std::optional<std::string> maxQueued;
    std::optional<std::string> cpuPercent;
    std::optional<std::string> memoryMb;

    CLI::App* create = nullptr;
    CLI::App* list = nullptr;
    CLI::App* revoke = nullptr;
    CLI::App* key = nullptr;
};

// Adds `token` with its subcommands create, list, revoke and key to `app`; returns `token`.
CLI::App* addTokenCommand(CLI::App& app, TokenCommandLine& line);

// Runs the subcommand `line` holds on `tokensFile`; the exit status (0 or 1).
int runTokenCommand(const TokenCommandLine& line, const std::string& tokensFile, std::ostream& out,
                    std::ostream& err);

// token create NAME: a new token for tenant NAME, alone on a line of `out`, and sentences on
// `err`, the tenant's callback key among them (made now for a tenant that has none). A new tenant
// takes `options` over the defaults; one that has tokens already keeps them and gets one more (a
// rotation: hand out the new one, then revoke the old), and the options given replace its settings.
int createToken(const std::string& tokensFile, const std::string& name,
                const TenantOptions& options, std::ostream& out, std::ostream& err);
// token key NAME: the key that signs tenant NAME's callbacks, alone on a line of `out`.
int showCallbackKey(const std::string& tokensFile, const std::string& name, std::ostream& out,
                    std::ostream& err);
// token list: a table of the tenants and their tokens' ids, one line a token.
int listTokens(const std::string& tokensFile, std::ostream& out, std::ostream& err);
// token revoke NAME [--id ID]: the tenant and all its tokens, or only the token ID; a tenant
// whose last token goes goes with it.
int revokeTokens(const std::string& tokensFile, const std::string& name,
                 const std::optional<std::string>& id, std::ostream& out, std::ostream& err);

} // namespace pyrunner::auth
