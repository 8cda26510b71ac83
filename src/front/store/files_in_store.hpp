#pragma once

#include "common/fd.hpp"

#include <memory>
#include <string>

namespace pyrunner::core
{

// The files runs bring (RunRequest::filesBundle), one file per accepted run in the front's own
// directory, from the moment the run is accepted until its unit has started: too large for the
// run store's rows, and needed again if a restart finds the run still queued. The broker gets
// an open descriptor, never a path. Every name is a run id the front made.
class FilesInStore
{
  public:
    // Creates `directory` (the front's own, 0700) if needed; throws std::system_error.
    explicit FilesInStore(std::string directory);

    // Durable when it returns: written, synced, and its name synced. Throws std::system_error.
    void put(const std::string& runId, const std::string& bundle) const;
    // The run's files for reading, or nothing when there are none.
    std::shared_ptr<const UniqueFd> open(const std::string& runId) const;
    void remove(const std::string& runId) const;

  private:
    std::string directory_;
    UniqueFd dir_;
};

} // namespace pyrunner::core
