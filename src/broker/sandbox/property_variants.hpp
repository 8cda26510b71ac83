#pragma once

#include "broker/sandbox/unit_tracker.hpp"
#include "broker/units/unit_properties.hpp"

#include <sdbus-c++/Types.h>

#include <map>
#include <string>
#include <vector>

namespace pyrunner::systemd
{

// A unit's properties as StartTransientUnit and SetUnitProperties take them: a(sv).
using DbusProperties = std::vector<sdbus::Struct<std::string, sdbus::Variant>>;
// Properties as Get, GetAll and PropertiesChanged give them: a{sv}.
using PropertyMap = std::map<std::string, sdbus::Variant>;

// The D-Bus form of a property's value, of the signature systemd expects for it.
sdbus::Variant toVariant(const PropertyValue& value);
DbusProperties toDbus(const std::vector<Property>& properties);

// The Service properties the tracker follows, where `map` has them with their own type.
ServiceProperties serviceProperties(const PropertyMap& map);
// Likewise for the Unit properties.
UnitChange unitChange(const PropertyMap& map);

} // namespace pyrunner::systemd
