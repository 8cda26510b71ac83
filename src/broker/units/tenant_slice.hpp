#pragma once

#include "broker/units/unit_properties.hpp"
#include "common/tenant.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::systemd
{

// The slice the units of `tenant` run in, below the operator's `baseSlice` ("X.slice", not the
// root slice): "X-<tenant>.slice", which systemd places beneath X.slice, since each dash in a
// slice's name is one level of its tree, so the base slice's caps still bound every tenant
// together. The empty tenant's is `baseSlice` itself. `tenant` is empty or isTenantName.
std::string tenantSlice(std::string_view baseSlice, std::string_view tenant);

// A tenant slice's caps as SetUnitProperties sets them, each one always: an uncapped resource
// is "infinity" (UINT64_MAX), so that a cap the operator lifted is lifted on the slice too,
// not left as it was. MemoryMax= is what systemd writes to memory.limit_in_bytes on a cgroup
// v1 host as well, as for a run unit's.
std::vector<Property> tenantSliceCaps(const core::TenantCaps& caps);

} // namespace pyrunner::systemd
