#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pyrunner::systemd
{

// One structured journal entry. Fields with empty values are left out, so that
// `journalctl FIELD=` matches only entries that know the value.
struct JournalEntry
{
    // syslog(3)'s priority.
    int priority = 0;
    std::string message;
    // The catalog id of this kind of entry (32 hex digits), empty for none.
    std::string_view messageId;
    std::vector<std::pair<std::string_view, std::string>> fields;
};

void send(const JournalEntry& entry);

// A server-side problem, with the priority of syslog(3).
void logMessage(int priority, const std::string& message);

// Kinds of run entries, for `journalctl MESSAGE_ID=...`.
namespace message_ids
{
inline constexpr std::string_view runAccepted = "7ebb9436da364bf2bd6b2e8b5ab97368";
inline constexpr std::string_view runRefused = "4787821ebce0423a925a1e209284bdeb";
inline constexpr std::string_view runStarted = "c6aa511646d047f7b88931c6dd3506b0";
inline constexpr std::string_view runFinished = "0c36b95154694abab660b1ce3b2c4fd8";
inline constexpr std::string_view serverError = "bd0c7cd6be7e4a1ca0b1a156323d0902";
inline constexpr std::string_view brokerRun = "5c5dc928376f48f4b6150fbd65755519";
// An idle warm unit reached its lifetime and was recycled, with no run in it.
inline constexpr std::string_view warmUnitRecycled = "3b12c849ca074bc8a30611b63e56be13";
// A finished run's callback was delivered or given up.
inline constexpr std::string_view callbackEnded = "995f478f2e4d41e88bfbaa69577351a3";
} // namespace message_ids

} // namespace pyrunner::systemd
