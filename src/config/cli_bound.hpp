#pragma once

#include "config/config.hpp"

#include <CLI/CLI.hpp>

namespace pyrunner::core
{

// A command-line option's check for the range the configuration file allows the same key.
inline CLI::Range cliRange(Bound bound)
{
    return CLI::Range(bound.min, bound.max);
}

} // namespace pyrunner::core
