#include "front/runs/fair_queue.hpp"

#include <algorithm>
#include <tuple>

namespace pyrunner::core
{

void FairQueue::push(const std::string& tenant, const std::string& id, TimePoint createdAt)
{
    auto& line = lines_[tenant];
    const auto later = std::find_if(line.begin(), line.end(), [&](const Waiting& waiting) {
        return waiting.createdAt > createdAt;
    });
    line.insert(later, Waiting{createdAt, id});
    tenantOf_[id] = tenant;
    ++size_;
}

bool FairQueue::remove(const std::string& id)
{
    const auto owner = tenantOf_.find(id);
    if (owner == tenantOf_.end())
    {
        return false;
    }
    const auto line = lines_.find(owner->second);
    std::erase_if(line->second, [&id](const Waiting& waiting) { return waiting.id == id; });
    if (line->second.empty())
    {
        lines_.erase(line);
    }
    tenantOf_.erase(owner);
    --size_;
    return true;
}

std::optional<std::string>
FairQueue::pop(const std::function<std::size_t(const std::string&)>& running,
               const std::function<bool(const std::string&)>& mayStart)
{
    using Rank = std::tuple<std::size_t, std::uint64_t, TimePoint>;
    auto chosen = lines_.end();
    Rank best{};
    for (auto line = lines_.begin(); line != lines_.end(); ++line)
    {
        if (!mayStart(line->first))
        {
            continue;
        }
        const Rank rank{running(line->first), servedAt_[line->first],
                        line->second.front().createdAt};
        if (chosen == lines_.end() || rank < best)
        {
            chosen = line;
            best = rank;
        }
    }
    if (chosen == lines_.end())
    {
        return std::nullopt;
    }
    auto id = chosen->second.front().id;
    servedAt_[chosen->first] = ++pops_;
    remove(id);
    return id;
}

std::size_t FairQueue::sizeOf(const std::string& tenant) const
{
    const auto line = lines_.find(tenant);
    return line == lines_.end() ? 0 : line->second.size();
}

std::map<std::string, std::size_t> FairQueue::sizes() const
{
    std::map<std::string, std::size_t> sizes;
    for (const auto& [tenant, line] : lines_)
    {
        sizes[tenant] = line.size();
    }
    return sizes;
}

} // namespace pyrunner::core
