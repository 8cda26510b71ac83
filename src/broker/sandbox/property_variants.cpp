#include "broker/sandbox/property_variants.hpp"

#include <cstdint>
#include <optional>
#include <variant>

namespace pyrunner::systemd
{
namespace
{

// The D-Bus struct of one entry of a list-valued property.
auto asStruct(const ExecCommand& c)
{
    return sdbus::Struct<std::string, StringList, StringList>(c.path, c.argv, c.flags);
}
auto asStruct(const IpPrefix& p)
{
    return sdbus::Struct<std::int32_t, Bytes, std::uint32_t>(p.family, p.address, p.prefixLength);
}
auto asStruct(const BindMount& m)
{
    return sdbus::Struct<std::string, std::string, bool, std::uint64_t>(m.source, m.destination,
                                                                        m.ignoreMissing, m.flags);
}
auto asStruct(const CredentialSource& c)
{
    return sdbus::Struct<std::string, std::string>(c.id, c.path);
}
auto asStruct(const TemporaryFs& f)
{
    return sdbus::Struct<std::string, std::string>(f.path, f.options);
}

// An entry of a list systemd takes as an array of structs.
template <class T>
concept ListEntry = requires(const T& entry)
{
    asStruct(entry);
};

template <class Plain> sdbus::Variant variantOf(const Plain& plain)
{
    return sdbus::Variant(plain);
}

sdbus::Variant variantOf(const NameFilter& filter)
{
    return sdbus::Variant(sdbus::Struct<bool, StringList>(filter.allow, filter.names));
}

template <ListEntry Entry> sdbus::Variant variantOf(const std::vector<Entry>& entries)
{
    std::vector<decltype(asStruct(entries.front()))> out;
    out.reserve(entries.size());
    for (const auto& entry : entries)
    {
        out.push_back(asStruct(entry));
    }
    return sdbus::Variant(out);
}

template <class T> std::optional<T> valueOf(const PropertyMap& map, const std::string& name)
{
    const auto it = map.find(name);
    if (it == map.end() || !it->second.containsValueOfType<T>())
    {
        return std::nullopt;
    }
    return it->second.get<T>();
}

} // namespace

sdbus::Variant toVariant(const PropertyValue& value)
{
    return std::visit([](const auto& alternative) { return variantOf(alternative); }, value);
}

DbusProperties toDbus(const std::vector<Property>& properties)
{
    DbusProperties out;
    out.reserve(properties.size());
    for (const auto& property : properties)
    {
        out.emplace_back(property.name, toVariant(property.value));
    }
    return out;
}

ServiceProperties serviceProperties(const PropertyMap& map)
{
    ServiceProperties service;
    service.result = valueOf<std::string>(map, "Result");
    service.execMainCode = valueOf<std::int32_t>(map, "ExecMainCode");
    service.execMainStatus = valueOf<std::int32_t>(map, "ExecMainStatus");
    service.execMainStartUsec = valueOf<std::uint64_t>(map, "ExecMainStartTimestampMonotonic");
    service.execMainExitUsec = valueOf<std::uint64_t>(map, "ExecMainExitTimestampMonotonic");
    service.mainPid = valueOf<std::uint32_t>(map, "MainPID");
    service.cpuUsageNsec = valueOf<std::uint64_t>(map, "CPUUsageNSec");
    return service;
}

UnitChange unitChange(const PropertyMap& map)
{
    return {valueOf<std::string>(map, "ActiveState"), valueOf<std::string>(map, "SubState")};
}

} // namespace pyrunner::systemd
