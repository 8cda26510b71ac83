#pragma once

#include "common/sandbox.hpp"
#include "daemon/journal.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The broker's journal entries about runs: what each says, apart from sending it, so that
// the words are tested.
namespace pyrunner::systemd
{

using JournalFields = std::vector<std::pair<std::string_view, std::string>>;

// An entry about one run as the broker sees it (MESSAGE_ID brokerRun), with STATUS=`status`.
// The id is the caller's: only a well-formed one names the run and its unit.
JournalEntry runEntry(int priority, const std::string& id, std::string_view status,
                      std::string message, const JournalFields& extra = {});

// The run's unit has ended as `seen`. `idleWarm`: it was a warm unit never given a run, whose
// lifetime's end is routine, not a run timing out.
JournalEntry unitEndEntry(const std::string& id, bool idleWarm, const core::UnitOutcome& seen);

} // namespace pyrunner::systemd
