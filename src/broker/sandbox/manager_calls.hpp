#pragma once

#include "broker/sandbox/property_variants.hpp"
#include "broker/units/unit_properties.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sdbus
{
class Error;
class IConnection;
class IProxy;
class Message;
} // namespace sdbus

namespace pyrunner::systemd
{

// The manager is between two instances of itself (re-executing), not gone for good.
bool isManagerAway(const sdbus::Error& error);

// A best-effort call's failure: logged at debug, as systemd does.
void logIgnored(const std::string& what, const sdbus::Error& error);

// What GetUnit said of a unit.
struct UnitLookup
{
    enum class Kind
    {
        // Loaded, at `path`.
        loaded,
        // org.freedesktop.systemd1.NoSuchUnit: systemd has no such unit loaded.
        noSuchUnit,
        // The manager was re-executing: it can tell once it is back.
        managerAway,
        // Any other failure, said in `error`: it tells nothing of the unit.
        failed,
    };

    Kind kind = Kind::failed;
    std::string path;
    std::string error;
};

// The signals of the manager that the sandbox follows, parsed; each runs on the thread that
// processes the connection.
struct ManagerSignals
{
    // Whether the unit at `path` is followed: the others' property changes are not even parsed.
    std::function<bool(const std::string& path)> follows;
    // A job of `unit` ended with `result` (done, failed, canceled, ...).
    std::function<void(const std::string& unit, const std::string& result)> jobRemoved;
    // A reload or re-execution begins (`starting`) or is over.
    std::function<void(bool starting)> reloading;
    // Changes of the Unit, and of the Service, properties of the unit at `path`.
    std::function<void(const std::string& path, const UnitChange& change)> unitChanged;
    std::function<void(const std::string& path, const ServiceProperties& changed)> serviceChanged;
};

// The calls the sandbox makes to org.freedesktop.systemd1: its Manager's methods and a unit's
// properties, each bounded by the same timeout. They throw sdbus::Error as sdbus-c++ does,
// but for an answer that is part of what a call tells (GetUnit's NoSuchUnit).
class ManagerCalls
{
  public:
    explicit ManagerCalls(sdbus::IConnection& connection);
    ~ManagerCalls();
    ManagerCalls(const ManagerCalls&) = delete;
    ManagerCalls& operator=(const ManagerCalls&) = delete;
    ManagerCalls(ManagerCalls&&) = delete;
    ManagerCalls& operator=(ManagerCalls&&) = delete;

    // Matches the signals first, then asks the manager to send them, so that no unit
    // started afterwards can end unseen.
    void subscribe(ManagerSignals handlers);

    // Job mode "fail".
    void startTransientUnit(const TransientUnit& unit);
    // Changes a unit's properties for as long as it runs.
    void setUnitProperties(const std::string& unit, const std::vector<Property>& properties);
    // `who`: "all" or "main".
    void killUnit(const std::string& unit, const std::string& who, int signal);
    // Job mode "replace".
    void stopUnit(const std::string& unit);
    // SIGKILLs the unit's whole cgroup for an immediate end, then stops the unit, which also
    // covers a start job that has not run yet. Best effort: either may find the unit gone.
    void endUnit(const std::string& unit);
    UnitLookup getUnit(const std::string& unit);
    // Holds the unit loaded after its end, until unrefUnit().
    void refUnit(const std::string& unit);
    // Sent without waiting for the answer.
    void unrefUnit(const std::string& unit);
    // The names of the units loaded that match `pattern`.
    std::vector<std::string> listUnits(const std::string& pattern);

    std::string activeState(const std::string& path);
    std::string controlGroup(const std::string& path);
    PropertyMap allServiceProperties(const std::string& path);

  private:
    void onJobRemoved(sdbus::Message& message);
    void onReloading(sdbus::Message& message);
    void onUnitChanged(sdbus::Message& message);
    void onServiceChanged(sdbus::Message& message);
    sdbus::Variant property(const std::string& path, const char* interface, const char* name);

    sdbus::IConnection& connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
    ManagerSignals signals_;
    std::vector<std::unique_ptr<void, std::function<void(void*)>>> matches_;
};

} // namespace pyrunner::systemd
