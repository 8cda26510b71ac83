#pragma once

#include "front/runs/run_events.hpp"

#include <string_view>

namespace pyrunner::systemd
{

// The journal entries of runs: RUN_ID=, UNIT=, STATUS=, CLIENT= on each, and the verdict's
// figures (EXIT_CODE=, SIGNAL=, DURATION_MS=, ...) once a run has ended, so that
// `journalctl RUN_ID=<id>` tells a run's story.
class JournalEvents final : public core::RunEvents
{
  public:
    void accepted(const core::Run& run, std::string_view client) override;
    void refused(core::SubmitError reason, std::string_view client,
                 std::string_view tenant) override;
    void started(const core::Run& run, std::string_view client) override;
    void finished(const core::Run& run, std::string_view client) override;
    void failed(std::string_view runId, std::string_view message) override;
};

} // namespace pyrunner::systemd
