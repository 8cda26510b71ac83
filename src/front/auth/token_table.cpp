#include "front/auth/token_table.hpp"

#include "front/auth/token.hpp"

#include <algorithm>
#include <openssl/crypto.h>

namespace pyrunner::auth
{

TokenTable::TokenTable(TenantRecords records) : records_(std::move(records))
{
    std::sort(records_.begin(), records_.end(),
              [](const auto& a, const auto& b) { return a.tenant.name < b.tenant.name; });
}

std::optional<Tenant> TokenTable::find(std::string_view token) const
{
    if (!isTokenShape(token))
    {
        return std::nullopt;
    }
    const auto hash = tokenHash(token);
    // No early exit: the scan goes on past a match and takes the same steps either way.
    const TenantRecord* owner = nullptr;
    for (const auto& record : records_)
    {
        for (const auto& stored : record.tokens)
        {
            // parseTokensFile holds every stored hash to the length of `hash`.
            const bool same = stored.sha256.size() == hash.size() &&
                              CRYPTO_memcmp(stored.sha256.data(), hash.data(), hash.size()) == 0;
            owner = same ? &record : owner;
        }
    }
    return owner == nullptr ? std::nullopt : std::optional<Tenant>(owner->tenant);
}

std::optional<Tenant> TokenTable::tenant(std::string_view name) const
{
    const auto it = std::find_if(records_.begin(), records_.end(),
                                 [name](const auto& record) { return record.tenant.name == name; });
    return it == records_.end() ? std::nullopt : std::optional<Tenant>(it->tenant);
}

} // namespace pyrunner::auth
