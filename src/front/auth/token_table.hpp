#pragma once

#include "front/auth/tokens_file.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::auth
{

// The tenants of one reading of the tokens file, and which token is whose.
class TokenTable
{
  public:
    TokenTable() = default;
    explicit TokenTable(TenantRecords records);

    // The tenant whose token `token` is: nothing for a text of another shape (without a
    // lookup) or a token the file does not hold. Its hash is compared with every stored hash
    // in constant time, so how long a lookup takes depends on the number of tokens alone,
    // never on how close a guess came.
    std::optional<Tenant> find(std::string_view token) const;
    std::optional<Tenant> tenant(std::string_view name) const;
    // Every tenant with its tokens' records, ordered by name.
    const TenantRecords& records() const { return records_; }

  private:
    TenantRecords records_;
};

} // namespace pyrunner::auth
