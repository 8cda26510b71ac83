#include "helpers/noop_id_calls.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <memory>
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace
{

// What a run unit's filter says to these calls, whatever their arguments (@privileged,
// SystemCallErrorNumber=EPERM); as root, the kernel would let the id-changing ones through.
// It refuses seccomp(2) too, which is not in @system-service.
bool refuseAsTheUnitDoes()
{
    const std::unique_ptr<void, decltype(&seccomp_release)> filter(seccomp_init(SCMP_ACT_ALLOW),
                                                                   &seccomp_release);
    if (!filter)
    {
        return false;
    }
    for (const int syscall : {SCMP_SYS(setuid), SCMP_SYS(setreuid), SCMP_SYS(setresuid),
                              SCMP_SYS(fchown), SCMP_SYS(seccomp)})
    {
        if (seccomp_rule_add(filter.get(), SCMP_ACT_ERRNO(EPERM), syscall, 0) != 0)
        {
            return false;
        }
    }
    if (seccomp_load(filter.get()) != 0)
    {
        return false;
    }
    // libseccomp remembers that it could call seccomp(2) a moment ago; the reaper's first
    // use of it is under the unit's filter.
    return seccomp_reset(nullptr, 0) == 0;
}

// 0 for a call that succeeded, else its errno.
int outcome(int result)
{
    return result == 0 ? 0 : errno;
}

constexpr int cannotInstall = 100;

// In a process of its own, since the filters stay: which check failed (its place, from 1),
// or 0.
int checkCalls()
{
    if (!refuseAsTheUnitDoes() || !pyrunner::helpers::passNoOpIdCalls())
    {
        return cannotInstall;
    }
    const uid_t self = ::getuid();
    const uid_t other = self + 1;
    const auto unchanged = static_cast<uid_t>(-1);
    const std::array<std::pair<int, int>, 11> checks{{
        {outcome(::setreuid(unchanged, unchanged)), 0},
        {outcome(::setreuid(self, unchanged)), 0},
        {outcome(::setresuid(unchanged, unchanged, unchanged)), 0},
        {outcome(::setresuid(self, self, self)), 0},
        {outcome(::setresuid(unchanged, self, unchanged)), 0},
        {outcome(::setuid(self)), 0},
        {outcome(::fchown(-1, self, ::getgid())), EBADF},
        {outcome(::fchown(STDIN_FILENO, self, ::getgid())), EPERM},
        {outcome(::setreuid(unchanged, other)), EPERM},
        {outcome(::setresuid(self, self, other)), EPERM},
        {outcome(::setuid(other)), EPERM},
    }};
    for (std::size_t i = 0; i < checks.size(); ++i)
    {
        if (checks.at(i).first != checks.at(i).second)
        {
            return static_cast<int>(i + 1);
        }
    }
    // Nothing changed, whatever the calls said.
    uid_t real = 0;
    uid_t effective = 0;
    uid_t saved = 0;
    ::getresuid(&real, &effective, &saved);
    return real == self && effective == self && saved == self ? 0
                                                              : static_cast<int>(checks.size() + 1);
}

TEST(NoOpIdCalls, PassTheUnitsFilterAndNothingElseDoes)
{
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
    {
        ::_exit(checkCalls());
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the check that failed, counted from 1";
}

} // namespace
