#pragma once

#include "front/store/run.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace pyrunner::core
{

// The runs waiting for a slot, one line per tenant, served fairly across tenants: a free slot
// goes to the tenant with the fewest runs running, and among equals to the one served least
// recently. So a tenant that queues a burst delays another tenant's next run by at most the
// one slot that frees next, whatever the burst's size; within a tenant, the oldest goes first.
class FairQueue
{
  public:
    // Keeps each tenant's line ordered by `createdAt`, also for runs put back after a restart.
    void push(const std::string& tenant, const std::string& id, TimePoint createdAt);
    // False when the run was not queued.
    bool remove(const std::string& id);

    // The run to start next and takes it out of the queue. `running` tells how many runs a
    // tenant has running, `mayStart` whether it may start one more (its own cap); nothing
    // when no waiting tenant may.
    std::optional<std::string> pop(const std::function<std::size_t(const std::string&)>& running,
                                   const std::function<bool(const std::string&)>& mayStart);

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t sizeOf(const std::string& tenant) const;
    // Waiting runs by tenant, only tenants with any.
    std::map<std::string, std::size_t> sizes() const;

  private:
    struct Waiting
    {
        TimePoint createdAt;
        std::string id;
    };
    std::map<std::string, std::deque<Waiting>> lines_;
    std::map<std::string, std::string> tenantOf_;
    // When each tenant was last served, by a count of pops: a tenant never served is 0.
    std::map<std::string, std::uint64_t> servedAt_;
    std::uint64_t pops_ = 0;
    std::size_t size_ = 0;
};

} // namespace pyrunner::core
