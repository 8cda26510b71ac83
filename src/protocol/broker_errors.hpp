#pragma once

// The broker's own errors, so that a caller can tell "not allowed" from "no such
// environment" from "try again" (org.pyrunner.Broker1.xml says when each comes). Apart from
// broker_api.hpp, so that the broker's pure code names them without the bus's headers.
namespace pyrunner::systemd::broker::errors
{

constexpr const char* notAllowed = "org.pyrunner.Broker1.Error.NotAllowed";
constexpr const char* invalidRun = "org.pyrunner.Broker1.Error.InvalidRun";
constexpr const char* noSuchEnvironment = "org.pyrunner.Broker1.Error.NoSuchEnvironment";
constexpr const char* runInProgress = "org.pyrunner.Broker1.Error.RunInProgress";
constexpr const char* failed = "org.pyrunner.Broker1.Error.Failed";

} // namespace pyrunner::systemd::broker::errors
