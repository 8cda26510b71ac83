#include "front/store/run.hpp"

#include <array>

namespace pyrunner::core
{
namespace
{

constexpr std::array allStatuses{
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::TimedOut,
    RunStatus::OutOfMemory,
    RunStatus::OutputLimitExceeded,
    RunStatus::Cancelled,
    RunStatus::Error,
};

} // namespace

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

std::optional<RunStatus> parseRunStatus(std::string_view text)
{
    for (const auto status : allStatuses)
    {
        if (toString(status) == text)
        {
            return status;
        }
    }
    return std::nullopt;
}

bool isFinal(RunStatus status)
{
    return status != RunStatus::Queued && status != RunStatus::Running;
}

} // namespace pyrunner::core
