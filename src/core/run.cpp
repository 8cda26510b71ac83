#include "core/run.hpp"

namespace pyrunner::core
{

std::string_view toString(RunStatus status)
{
    switch (status)
    {
    case RunStatus::Queued:
        return "queued";
    case RunStatus::Running:
        return "running";
    case RunStatus::Succeeded:
        return "succeeded";
    case RunStatus::Failed:
        return "failed";
    case RunStatus::TimedOut:
        return "timed_out";
    case RunStatus::OutOfMemory:
        return "out_of_memory";
    case RunStatus::OutputLimitExceeded:
        return "output_limit_exceeded";
    case RunStatus::Cancelled:
        return "cancelled";
    case RunStatus::Error:
        return "error";
    }
    return "error";
}

bool isFinal(RunStatus status)
{
    return status != RunStatus::Queued && status != RunStatus::Running;
}

} // namespace pyrunner::core
