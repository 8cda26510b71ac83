#include "front/journal_events.hpp"

#include "daemon/journal.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <syslog.h>
#include <tuple>
#include <type_traits>

namespace pyrunner::systemd
{
namespace
{

// Shortest text that reads back as the same number.
std::string number(double value)
{
    std::array<char, 32> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} ? std::string(text.data(), end) : std::string();
}

template <typename Number> std::string optionalNumber(const std::optional<Number>& value)
{
    if (!value)
    {
        return {};
    }
    if constexpr (std::is_floating_point_v<Number>)
    {
        return number(*value);
    }
    else
    {
        return std::to_string(*value);
    }
}

std::string outcomeOf(const core::Run& run)
{
    if (run.exitCode)
    {
        return "exit code " + std::to_string(*run.exitCode);
    }
    if (run.signal)
    {
        return "signal " + *run.signal;
    }
    return run.error.value_or("no exit status");
}

JournalEntry runEntry(int priority, std::string message, std::string_view messageId,
                      const core::Run& run, std::string_view client)
{
    return JournalEntry{priority,
                        std::move(message),
                        messageId,
                        {{"RUN_ID", run.id},
                         {"UNIT", run.unit},
                         {"STATUS", std::string(core::toString(run.status))},
                         {"CLIENT", std::string(client)},
                         {"TENANT", run.tenant},
                         {"ENVIRONMENT", run.environment}}};
}

} // namespace

void JournalEvents::accepted(const core::Run& run, std::string_view client)
{
    auto entry = runEntry(LOG_INFO, "Run " + run.id + " accepted from " + std::string(client) + ".",
                          message_ids::runAccepted, run, client);
    send(entry);
}

void JournalEvents::refused(core::SubmitError reason, std::string_view client,
                            std::string_view tenant)
{
    const auto [priority, why, code] = [reason]() -> std::tuple<int, const char*, const char*> {
        switch (reason)
        {
        case core::SubmitError::QueueFull:
            return {LOG_NOTICE, "the queue is full.", "queue_full"};
        case core::SubmitError::TenantQueueFull:
            return {LOG_NOTICE, "its tenant has as many runs queued as its share allows.",
                    "tenant_queue_full"};
        case core::SubmitError::Unavailable:
            break;
        }
        return {LOG_WARNING, "systemd or the broker is out of reach.", "unavailable"};
    }();
    send(JournalEntry{priority,
                      std::string("Run from ") + std::string(client) + " refused: " + why,
                      message_ids::runRefused,
                      {{"STATUS", "refused"},
                       {"REASON", code},
                       {"CLIENT", std::string(client)},
                       {"TENANT", std::string(tenant)}}});
}

void JournalEvents::started(const core::Run& run, std::string_view client)
{
    send(runEntry(LOG_INFO, "Run " + run.id + " started in " + run.unit + ".",
                  message_ids::runStarted, run, client));
}

void JournalEvents::finished(const core::Run& run, std::string_view client)
{
    const auto status = std::string(core::toString(run.status));
    auto entry = runEntry(run.status == core::RunStatus::Error ? LOG_ERR : LOG_INFO,
                          "Run " + run.id + " " + status + " (" + outcomeOf(run) + ").",
                          message_ids::runFinished, run, client);
    entry.fields.emplace_back("EXIT_CODE", optionalNumber(run.exitCode));
    entry.fields.emplace_back("SIGNAL", run.signal.value_or(""));
    entry.fields.emplace_back("DURATION_MS", optionalNumber(run.durationMs));
    entry.fields.emplace_back("CPU_TIME_MS", optionalNumber(run.cpuTimeMs));
    entry.fields.emplace_back("MEMORY_PEAK_BYTES", optionalNumber(run.memoryPeakBytes));
    entry.fields.emplace_back("ERROR", run.error.value_or(""));
    send(entry);
}

void JournalEvents::failed(std::string_view runId, std::string_view message)
{
    send(JournalEntry{LOG_ERR,
                      std::string(message),
                      message_ids::serverError,
                      {{"RUN_ID", std::string(runId)}, {"STATUS", "error"}}});
}

} // namespace pyrunner::systemd
