#pragma once

#include <string>
#include <string_view>

namespace pyrunner::systemd
{

// A call the broker turns down: the error name it answers with (one of broker::errors) and
// the sentence the caller reads.
struct Refusal
{
    std::string_view error;
    std::string message;

    bool operator==(const Refusal&) const = default;
};

} // namespace pyrunner::systemd
