#include "broker/sandbox/manager_calls.hpp"

#include "daemon/journal.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <syslog.h>
#include <utility>

namespace pyrunner::systemd
{
namespace
{

constexpr const char* systemdService = "org.freedesktop.systemd1";
constexpr const char* managerPath = "/org/freedesktop/systemd1";
constexpr const char* managerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* unitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* serviceInterface = "org.freedesktop.systemd1.Service";
constexpr const char* propertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
constexpr auto callTimeout = std::chrono::seconds(10);

std::string managerSignal(const char* member)
{
    return std::string("type='signal',sender='") + systemdService + "',path='" + managerPath +
           "',interface='" + managerInterface + "',member='" + member + "'";
}

// PropertiesChanged of every unit, for one of its interfaces.
std::string unitPropertiesChanged(const char* interface)
{
    return std::string("type='signal',sender='") + systemdService +
           "',path_namespace='/org/freedesktop/systemd1/unit',interface='" + propertiesInterface +
           "',member='PropertiesChanged',arg0='" + interface + "'";
}

PropertyMap changedProperties(sdbus::Message& message)
{
    std::string interface;
    PropertyMap changed;
    message >> interface >> changed;
    return changed;
}

} // namespace

bool isManagerAway(const sdbus::Error& error)
{
    const auto& name = error.getName();
    return name == "org.freedesktop.DBus.Error.NoReply" ||
           name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           name == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

void logIgnored(const std::string& what, const sdbus::Error& error)
{
    logMessage(LOG_DEBUG, "pyrunner-broker: " + what + ": " + error.getMessage() + ", ignoring");
}

ManagerCalls::ManagerCalls(sdbus::IConnection& connection)
    : connection_(connection), manager_(sdbus::createProxy(connection, systemdService, managerPath))
{
}

ManagerCalls::~ManagerCalls() = default;

void ManagerCalls::subscribe(ManagerSignals handlers)
{
    signals_ = std::move(handlers);
    matches_.push_back(connection_.addMatch(managerSignal("JobRemoved"),
                                            [this](sdbus::Message& m) { onJobRemoved(m); }));
    matches_.push_back(connection_.addMatch(managerSignal("Reloading"),
                                            [this](sdbus::Message& m) { onReloading(m); }));
    matches_.push_back(connection_.addMatch(unitPropertiesChanged(unitInterface),
                                            [this](sdbus::Message& m) { onUnitChanged(m); }));
    matches_.push_back(connection_.addMatch(unitPropertiesChanged(serviceInterface),
                                            [this](sdbus::Message& m) { onServiceChanged(m); }));
    manager_->callMethod("Subscribe").onInterface(managerInterface).withTimeout(callTimeout);
}

void ManagerCalls::onJobRemoved(sdbus::Message& message)
{
    std::uint32_t id = 0;
    sdbus::ObjectPath job;
    std::string unit;
    std::string result;
    message >> id >> job >> unit >> result;
    signals_.jobRemoved(unit, result);
}

void ManagerCalls::onReloading(sdbus::Message& message)
{
    bool starting = false;
    message >> starting;
    signals_.reloading(starting);
}

void ManagerCalls::onUnitChanged(sdbus::Message& message)
{
    const auto path = message.getPath();
    if (signals_.follows(path))
    {
        signals_.unitChanged(path, unitChange(changedProperties(message)));
    }
}

void ManagerCalls::onServiceChanged(sdbus::Message& message)
{
    const auto path = message.getPath();
    if (signals_.follows(path))
    {
        signals_.serviceChanged(path, serviceProperties(changedProperties(message)));
    }
}

void ManagerCalls::startTransientUnit(const TransientUnit& unit)
{
    std::vector<sdbus::Struct<std::string, DbusProperties>> aux;
    aux.reserve(unit.aux.size());
    for (const auto& auxUnit : unit.aux)
    {
        aux.emplace_back(auxUnit.name, toDbus(auxUnit.properties));
    }
    sdbus::ObjectPath job;
    manager_->callMethod("StartTransientUnit")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit.name, std::string("fail"), toDbus(unit.properties), aux)
        .storeResultsTo(job);
}

void ManagerCalls::setUnitProperties(const std::string& unit,
                                     const std::vector<Property>& properties)
{
    manager_->callMethod("SetUnitProperties")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit, true, toDbus(properties));
}

void ManagerCalls::killUnit(const std::string& unit, const std::string& who, int signal)
{
    manager_->callMethod("KillUnit")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit, who, std::int32_t{signal});
}

void ManagerCalls::stopUnit(const std::string& unit)
{
    sdbus::ObjectPath job;
    manager_->callMethod("StopUnit")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit, std::string("replace"))
        .storeResultsTo(job);
}

void ManagerCalls::endUnit(const std::string& unit)
{
    try
    {
        killUnit(unit, "all", SIGKILL);
    }
    catch (const sdbus::Error& e)
    {
        logIgnored("cannot kill " + unit, e);
    }
    try
    {
        stopUnit(unit);
    }
    catch (const sdbus::Error& e)
    {
        logIgnored("cannot stop " + unit, e);
    }
}

UnitLookup ManagerCalls::getUnit(const std::string& unit)
{
    UnitLookup lookup;
    try
    {
        sdbus::ObjectPath path;
        manager_->callMethod("GetUnit")
            .onInterface(managerInterface)
            .withTimeout(callTimeout)
            .withArguments(unit)
            .storeResultsTo(path);
        lookup.kind = UnitLookup::Kind::loaded;
        lookup.path = std::move(path);
    }
    catch (const sdbus::Error& e)
    {
        lookup.kind = e.getName() == noSuchUnit ? UnitLookup::Kind::noSuchUnit
                      : isManagerAway(e)        ? UnitLookup::Kind::managerAway
                                                : UnitLookup::Kind::failed;
        lookup.error = e.getName() + ": " + e.getMessage();
    }
    return lookup;
}

void ManagerCalls::refUnit(const std::string& unit)
{
    manager_->callMethod("RefUnit")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit);
}

void ManagerCalls::unrefUnit(const std::string& unit)
{
    manager_->callMethod("UnrefUnit")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(unit)
        .dontExpectReply();
}

std::vector<std::string> ManagerCalls::listUnits(const std::string& pattern)
{
    using UnitInfo =
        sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                      sdbus::ObjectPath, std::uint32_t, std::string, sdbus::ObjectPath>;
    std::vector<UnitInfo> units;
    manager_->callMethod("ListUnitsByPatterns")
        .onInterface(managerInterface)
        .withTimeout(callTimeout)
        .withArguments(std::vector<std::string>{}, std::vector<std::string>{pattern})
        .storeResultsTo(units);
    std::vector<std::string> names;
    names.reserve(units.size());
    for (const auto& unit : units)
    {
        names.push_back(unit.get<0>());
    }
    return names;
}

std::string ManagerCalls::activeState(const std::string& path)
{
    return property(path, unitInterface, "ActiveState").get<std::string>();
}

std::string ManagerCalls::controlGroup(const std::string& path)
{
    return property(path, serviceInterface, "ControlGroup").get<std::string>();
}

sdbus::Variant ManagerCalls::property(const std::string& path, const char* interface,
                                      const char* name)
{
    sdbus::Variant value;
    sdbus::createProxy(connection_, systemdService, path)
        ->callMethod("Get")
        .onInterface(propertiesInterface)
        .withTimeout(callTimeout)
        .withArguments(std::string(interface), std::string(name))
        .storeResultsTo(value);
    return value;
}

PropertyMap ManagerCalls::allServiceProperties(const std::string& path)
{
    PropertyMap service;
    sdbus::createProxy(connection_, systemdService, path)
        ->callMethod("GetAll")
        .onInterface(propertiesInterface)
        .withTimeout(callTimeout)
        .withArguments(std::string(serviceInterface))
        .storeResultsTo(service);
    return service;
}

} // namespace pyrunner::systemd
