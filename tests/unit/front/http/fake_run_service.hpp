#pragma once

#include "front/runs/run_service.hpp"

#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pyrunner::http::testing
{

// A RunService that keeps runs in memory and ends them when a test says so.
class FakeRunService : public core::RunService
{
  public:
    std::variant<core::Submitted, core::SubmitError> submit(core::RunRequest request,
                                                            core::Completion onFinal) override
    {
        const std::lock_guard lock(mutex_);
        if (refuseWith)
        {
            return *refuseWith;
        }
        core::RunView view;
        view.run.id = "run-" + std::to_string(++count_);
        view.run.unit = "pyrunner-" + view.run.id + ".service";
        view.run.environment = request.environment;
        view.run.tenant = request.tenant;
        view.run.limits = request.limits;
        view.run.createdAt = core::TimePoint{};
        submitted_.push_back(std::move(request));
        runs_[view.run.id] = Entry{view, std::move(onFinal)};
        submittedChanged_.notify_all();
        return core::Submitted{view};
    }

    std::optional<core::RunView> find(const std::string& id) const override
    {
        const std::lock_guard lock(mutex_);
        const auto entry = runs_.find(id);
        return entry == runs_.end() ? std::nullopt : std::optional(entry->second.view);
    }

    std::optional<std::string> ownerOf(const std::string& id) const override
    {
        const std::lock_guard lock(mutex_);
        const auto entry = runs_.find(id);
        return entry == runs_.end() ? std::nullopt : std::optional(entry->second.view.run.tenant);
    }

    std::optional<std::string> output(const std::string& id, core::Stream stream) const override
    {
        const std::lock_guard lock(mutex_);
        const auto entry = runs_.find(id);
        if (entry == runs_.end())
        {
            return std::nullopt;
        }
        const auto& output = entry->second.view.output;
        return stream == core::Stream::Stdout ? output.stdoutData : output.stderrData;
    }

    std::optional<core::RunSnapshot> snapshot(const std::string& id) const override
    {
        const std::lock_guard lock(mutex_);
        const auto entry = runs_.find(id);
        if (entry == runs_.end())
        {
            return std::nullopt;
        }
        const auto& run = entry->second.view.run;
        return core::RunSnapshot{run, core::isFinal(run.status)};
    }

    // Output files a test made, by run id and stream.
    core::UniqueFd openOutput(const std::string& id, core::Stream stream) const override
    {
        const auto path = outputFiles.find({id, stream});
        return path == outputFiles.end()
                   ? core::UniqueFd()
                   : core::UniqueFd(::open(path->second.c_str(), O_RDONLY | O_CLOEXEC));
    }
    std::map<std::pair<std::string, core::Stream>, std::string> outputFiles;

    std::optional<core::RunView> cancel(const std::string& id) override
    {
        return finish(id, core::RunStatus::Cancelled, {});
    }

    // The copies a test put there, by run id and index.
    std::optional<std::string> collectedFile(const std::string& id,
                                             std::uint32_t index) const override
    {
        const auto entry = collected.find({id, index});
        if (entry == collected.end())
        {
            return std::nullopt;
        }
        return entry->second;
    }
    std::map<std::pair<std::string, std::uint32_t>, std::string> collected;

    // Gives the run `files`, as a collector would have listed them.
    void setFiles(const std::string& id, std::vector<core::RunFile> files)
    {
        const std::lock_guard lock(mutex_);
        runs_.at(id).view.run.files = std::move(files);
    }

    core::Health health() const override { return healthReport; }

    std::vector<core::Environment> environments() const override
    {
        core::Environment plain;
        plain.name = "default";
        plain.pythonVersion = "3.11.2";
        core::Environment science;
        science.name = "science";
        science.pythonVersion = "3.11.2";
        science.packages = {{"numpy", "1.24.2"}};
        return {plain, science};
    }

    unsigned retryAfterSeconds() const override { return 7; }

    // The run's unit has started.
    void start(const std::string& id)
    {
        const std::lock_guard lock(mutex_);
        runs_.at(id).view.run.status = core::RunStatus::Running;
    }

    // Ends the run with `status` and `output`, calling its completion on this thread.
    std::optional<core::RunView> finish(const std::string& id, core::RunStatus status,
                                        core::RunOutput output)
    {
        core::Completion completion;
        core::RunView view;
        {
            const std::lock_guard lock(mutex_);
            const auto entry = runs_.find(id);
            if (entry == runs_.end())
            {
                return std::nullopt;
            }
            if (!core::isFinal(entry->second.view.run.status))
            {
                entry->second.view.run.status = status;
                entry->second.view.output = std::move(output);
                entry->second.view.run.exitCode = status == core::RunStatus::Succeeded ? 0 : 1;
                completion = std::move(entry->second.onFinal);
            }
            view = entry->second.view;
        }
        if (completion)
        {
            completion(view);
        }
        return view;
    }

    bool hasCompletion(const std::string& id) const
    {
        const std::lock_guard lock(mutex_);
        const auto entry = runs_.find(id);
        return entry != runs_.end() && static_cast<bool>(entry->second.onFinal);
    }

    // For tests that submit from another thread: true once `count` runs were accepted.
    bool waitForSubmissions(std::size_t count) const
    {
        std::unique_lock lock(mutex_);
        return submittedChanged_.wait_for(lock, std::chrono::seconds(10),
                                          [&] { return submitted_.size() >= count; });
    }

    std::vector<core::RunRequest> submitted() const
    {
        const std::lock_guard lock(mutex_);
        return submitted_;
    }

    // Set before the service is used.
    std::optional<core::SubmitError> refuseWith;
    core::Health healthReport{true, 1, 2, 4, 16, {{"seccomp", true}}, {}, {}};

  private:
    struct Entry
    {
        core::RunView view;
        core::Completion onFinal;
    };

    mutable std::mutex mutex_;
    mutable std::condition_variable submittedChanged_;
    int count_ = 0;
    std::vector<core::RunRequest> submitted_;
    std::map<std::string, Entry> runs_;
};

} // namespace pyrunner::http::testing
