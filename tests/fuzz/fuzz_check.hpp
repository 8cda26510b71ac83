#pragma once

#include <cstdio>
#include <cstdlib>

// Stops the fuzzer when an invariant does not hold, so libFuzzer saves the input as a crash.
// Not assert(): it would vanish in a build with NDEBUG.
#define FUZZ_REQUIRE(condition)                                                                    \
    do                                                                                             \
    {                                                                                              \
        if (!(condition))                                                                          \
        {                                                                                          \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
