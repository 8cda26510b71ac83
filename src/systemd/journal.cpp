#include "systemd/journal.hpp"

#include <systemd/sd-journal.h>

#include <syslog.h>

namespace pyrunner::systemd
{
namespace
{

std::string field(const char* name, const std::string& value)
{
    return std::string(name) + "=" + value;
}

} // namespace

void logRunFinished(const core::Run& run)
{
    const auto status = std::string(core::toString(run.status));
    std::string outcome;
    if (run.exitCode)
    {
        outcome = "exit code " + std::to_string(*run.exitCode);
    }
    else if (run.signal)
    {
        outcome = "signal " + *run.signal;
    }
    else
    {
        outcome = run.error.value_or("no exit status");
    }
    const auto message = field("MESSAGE", "Run " + run.id + " " + status + " (" + outcome + ").");
    const auto runId = field("RUN_ID", run.id);
    const auto unit = field("UNIT", run.unit);
    const auto statusField = field("STATUS", status);
    const auto exitCode =
        field("EXIT_CODE", run.exitCode ? std::to_string(*run.exitCode) : std::string());
    const auto signal = field("SIGNAL", run.signal.value_or(""));
    const auto duration =
        field("DURATION_MS", run.durationMs ? std::to_string(*run.durationMs) : std::string());
    const auto error = field("ERROR", run.error.value_or(""));
    const int priority = run.status == core::RunStatus::Error ? LOG_ERR : LOG_INFO;
    sd_journal_send("%s", message.c_str(), "PRIORITY=%d", priority, "%s", runId.c_str(), "%s",
                    unit.c_str(), "%s", statusField.c_str(), "%s", exitCode.c_str(), "%s",
                    signal.c_str(), "%s", duration.c_str(), "%s", error.c_str(),
                    "SYSLOG_IDENTIFIER=pyrunnerd", nullptr);
}

void logMessage(int priority, const std::string& message)
{
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%d", priority,
                    "SYSLOG_IDENTIFIER=pyrunnerd", nullptr);
}

} // namespace pyrunner::systemd
