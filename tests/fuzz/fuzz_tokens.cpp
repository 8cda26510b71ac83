// What a client controls of authentication: the Authorization header, and what an operator's
// tokens file may hold. The first byte picks which. A header finds the one tenant only with
// that tenant's exact token; a tokens file that parses writes back to text that parses to the
// same records.
#include "front/auth/authenticator.hpp"
#include "front/auth/token.hpp"
#include "front/auth/token_table.hpp"
#include "front/auth/tokens_file.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace
{

using namespace pyrunner::auth;

// A fixed token, so that runs are reproducible; the fuzzer finds it only by its shape.
const std::string knownToken = "pyr_" + std::string(43, 'k');

const TokenTable& table()
{
    static const TokenTable known = [] {
        TenantRecord record;
        record.tenant.name = "alice";
        const auto hash = tokenHash(knownToken);
        record.tokens.push_back({tokenIdOf(hash), hash, "2026-01-01T00:00:00Z"});
        return TokenTable(TenantRecords{record});
    }();
    return known;
}

void checkHeader(std::string_view header)
{
    const auto token = bearerToken(header);
    if (!token)
    {
        return;
    }
    FUZZ_REQUIRE(header.find(*token) != std::string_view::npos);
    const auto found = table().find(*token);
    FUZZ_REQUIRE(found.has_value() == (*token == knownToken));
    FUZZ_REQUIRE(!isTokenShape(*token) || token->size() == tokenLength);
}

void checkFile(std::string_view text)
{
    const auto parsed = parseTokensFile(text, "fuzz");
    const auto* records = std::get_if<TenantRecords>(&parsed);
    if (records == nullptr)
    {
        return;
    }
    const auto again = parseTokensFile(tokensFileText(*records), "fuzz");
    const auto* reread = std::get_if<TenantRecords>(&again);
    FUZZ_REQUIRE(reread != nullptr);
    FUZZ_REQUIRE(*reread == *records);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return 0;
    }
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0)
    {
        checkHeader(rest);
    }
    else
    {
        checkFile(rest);
    }
    return 0;
}
