#include "broker/run_registry.hpp"

namespace pyrunner::systemd
{

void RunRegistry::starting(const std::string& id)
{
    active_.insert(id);
}

void RunRegistry::waitForEnvironment(const std::string& id)
{
    active_.insert(id);
    waitingForEnvironment_.insert(id);
}

bool RunRegistry::environmentReady(const std::string& id)
{
    return waitingForEnvironment_.erase(id) != 0;
}

void RunRegistry::endedWithoutUnit(const std::string& id)
{
    active_.erase(id);
}

bool RunRegistry::killWhileWaiting(const std::string& id)
{
    if (waitingForEnvironment_.erase(id) == 0)
    {
        return false;
    }
    active_.erase(id);
    return true;
}

void RunRegistry::prepared(const std::string& id, const std::string& owner)
{
    active_.insert(id);
    idleWarm_.emplace(id, owner);
}

void RunRegistry::handedOver(const std::string& id)
{
    idleWarm_.erase(id);
}

std::vector<std::string> RunRegistry::ownerGone(const std::string& owner)
{
    std::vector<std::string> ids;
    for (auto it = idleWarm_.begin(); it != idleWarm_.end();)
    {
        if (it->second != owner)
        {
            ++it;
            continue;
        }
        ids.push_back(it->first);
        abandoned_.insert(it->first);
        it = idleWarm_.erase(it);
    }
    return ids;
}

void RunRegistry::followed(const std::string& id)
{
    active_.insert(id);
}

RunRegistry::Exit RunRegistry::exited(const std::string& id)
{
    active_.erase(id);
    const bool idleWarm = idleWarm_.erase(id) != 0;
    // An abandoned unit's files are as good as released.
    ending_.emplace(id, abandoned_.erase(id) != 0);
    return Exit{idleWarm};
}

bool RunRegistry::unitGone(const std::string& id)
{
    const auto node = ending_.extract(id);
    return node && node.mapped();
}

RunRegistry::Release RunRegistry::release(const std::string& id)
{
    if (active_.contains(id))
    {
        return Release::refused;
    }
    if (const auto it = ending_.find(id); it != ending_.end())
    {
        it->second = true;
        return Release::withUnit;
    }
    return Release::now;
}

} // namespace pyrunner::systemd
