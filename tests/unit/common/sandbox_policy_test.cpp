#include "common/run_id.hpp"
#include "common/sandbox_policy.hpp"

#include <gtest/gtest.h>

namespace pyrunner::core
{
namespace
{

SandboxRun validRun()
{
    SandboxRun run;
    run.id = newRunId();
    run.code = "print(1)";
    return run;
}

TEST(SandboxPolicy, AcceptsAnOrdinaryRun)
{
    EXPECT_EQ(checkSandboxRun(validRun(), SandboxPolicy{}), std::nullopt);
}

TEST(SandboxPolicy, RefusesIdsThatCouldNameAPath)
{
    for (const char* id : {"", "../../etc", "0123456789ABCDEF0123456789ABCDEF", "x"})
    {
        auto run = validRun();
        run.id = id;
        EXPECT_TRUE(checkSandboxRun(run, SandboxPolicy{})) << id;
    }
}

TEST(SandboxPolicy, RefusesEveryLimitAboveItsMaximumOrZero)
{
    const SandboxPolicy policy;
    const auto check = [&policy](auto field, std::uint64_t value) {
        auto run = validRun();
        run.limits.*field =
            static_cast<std::remove_reference_t<decltype(run.limits.*field)>>(value);
        return checkSandboxRun(run, policy);
    };
    EXPECT_EQ(check(&Limits::memoryMb, 2049), "limits.memory_mb must be between 1 and 2048.");
    EXPECT_TRUE(check(&Limits::wallTimeS, 61));
    EXPECT_TRUE(check(&Limits::cpuTimeS, 0));
    EXPECT_TRUE(check(&Limits::cpuPercent, 101));
    EXPECT_TRUE(check(&Limits::tasks, 257));
    EXPECT_TRUE(check(&Limits::outputBytes, 16ULL * 1024 * 1024 + 1));
    EXPECT_EQ(check(&Limits::diskMb, 4097), "limits.disk_mb must be between 1 and 4096.");
    EXPECT_EQ(check(&Limits::diskMb, 0), "limits.disk_mb must be between 1 and 4096.");
    EXPECT_EQ(check(&Limits::diskMb, 4096), std::nullopt);
}

TEST(SandboxPolicy, RefusesOversizedCodeStdinAndArguments)
{
    SandboxPolicy policy;
    policy.maxCodeBytes = 4;
    policy.maxStdinBytes = 4;
    policy.maxArgsBytes = 2 * (1 + sizeof(char*));
    auto run = validRun();
    run.code = "12345";
    EXPECT_TRUE(checkSandboxRun(run, policy));
    run = validRun();
    run.code = "1";
    run.stdinData = "12345";
    EXPECT_TRUE(checkSandboxRun(run, policy));
    run.stdinData = "";
    run.args = {"ab", ""};
    EXPECT_TRUE(checkSandboxRun(run, policy));
}

TEST(SandboxPolicy, ArgumentsCostTheirBytesTheirNulAndAPointer)
{
    EXPECT_EQ(commandLineBytes({"ab", ""}), 2 + 1 + 1 + 2 * sizeof(char*));
}

TEST(SandboxPolicy, RefusesArgumentsWithNul)
{
    auto run = validRun();
    run.args = {std::string("a\0b", 3)};
    EXPECT_EQ(checkSandboxRun(run, SandboxPolicy{}), "An argument contains a NUL byte.");
}

} // namespace
} // namespace pyrunner::core
