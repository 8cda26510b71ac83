#include "broker/run_journal.hpp"

#include "common/run_id.hpp"

#include <syslog.h>

namespace pyrunner::systemd
{

JournalEntry runEntry(int priority, const std::string& id, std::string_view status,
                      std::string message, const JournalFields& extra)
{
    const bool wellFormed = core::isRunId(id);
    JournalEntry entry{priority,
                       std::move(message),
                       message_ids::brokerRun,
                       {{"RUN_ID", wellFormed ? id : std::string()},
                        {"UNIT", wellFormed ? core::unitNameFor(id) : std::string()},
                        {"STATUS", std::string(status)}}};
    entry.fields.insert(entry.fields.end(), extra.begin(), extra.end());
    return entry;
}

JournalEntry unitEndEntry(const std::string& id, bool idleWarm, const core::UnitOutcome& seen)
{
    const JournalFields evidence{{"UNIT_RESULT", seen.result},
                                 {"END_SEEN_BY", seen.toldByKernel ? "kernel" : "systemd"},
                                 {"ERROR", seen.error}};
    // systemd ends a warm unit that waited its whole lifetime (RuntimeMaxSec=) with "timeout".
    if (idleWarm && seen.result == "timeout")
    {
        auto entry = runEntry(LOG_INFO, id, "warm_unit_recycled",
                              "The idle warm unit " + core::unitNameFor(id) +
                                  " reached its lifetime and was recycled; no run was using it.",
                              evidence);
        entry.messageId = message_ids::warmUnitRecycled;
        return entry;
    }
    return runEntry(seen.error.empty() ? LOG_INFO : LOG_ERR, id, "unit_ended",
                    "The unit of run " + id + " ended" +
                        (seen.result.empty() ? "" : " with result " + seen.result) +
                        (seen.error.empty() ? "." : ": " + seen.error),
                    evidence);
}

} // namespace pyrunner::systemd
