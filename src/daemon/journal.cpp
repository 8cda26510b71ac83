#include "daemon/journal.hpp"

#include <systemd/sd-journal.h>

#include <cerrno>
#include <sys/uio.h>
#include <syslog.h>

namespace pyrunner::systemd
{

void send(const JournalEntry& entry)
{
    std::vector<std::string> lines;
    lines.reserve(entry.fields.size() + 4);
    lines.push_back("MESSAGE=" + entry.message);
    lines.push_back("PRIORITY=" + std::to_string(entry.priority));
    // pyrunnerd or pyrunner-broker.
    lines.push_back(std::string("SYSLOG_IDENTIFIER=") + program_invocation_short_name);
    if (!entry.messageId.empty())
    {
        lines.push_back("MESSAGE_ID=" + std::string(entry.messageId));
    }
    for (const auto& [name, value] : entry.fields)
    {
        if (!value.empty())
        {
            lines.push_back(std::string(name) + "=" + value);
        }
    }
    std::vector<iovec> vector;
    vector.reserve(lines.size());
    for (auto& line : lines)
    {
        vector.push_back(iovec{line.data(), line.size()});
    }
    // Logging is best effort: a journal that is not there must not stop a run.
    sd_journal_sendv(vector.data(), static_cast<int>(vector.size()));
}

void logMessage(int priority, const std::string& message)
{
    send(JournalEntry{priority, message, {}, {}});
}

} // namespace pyrunner::systemd
