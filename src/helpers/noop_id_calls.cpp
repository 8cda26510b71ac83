#include "helpers/noop_id_calls.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <seccomp.h>
#include <unistd.h>

namespace pyrunner::helpers
{
namespace
{

using Filter = std::unique_ptr<void, decltype(&seccomp_release)>;

// A uid_t reaches the filter zero-extended to 64 bits, and the kernel reads its low half
// alone: so do these comparisons.
constexpr scmp_datum_t lowHalf = 0xffffffff;
constexpr scmp_datum_t unchanged = static_cast<uid_t>(-1);
// The kernel reads the descriptor as an int: with this bit set, it is negative.
constexpr scmp_datum_t signBit = 0x80000000;

// Makes `syscall` succeed without running when each of its first `count` arguments is
// `self` or -1: one rule for each of the 2^count ways of choosing.
bool passUnchanged(scmp_filter_ctx filter, int syscall, unsigned count, uid_t self)
{
    for (unsigned choice = 0; choice < (1U << count); ++choice)
    {
        std::array<scmp_arg_cmp, 3> arguments{};
        for (unsigned i = 0; i < count; ++i)
        {
            const scmp_datum_t value = (choice & (1U << i)) != 0 ? unchanged : self;
            arguments.at(i) = {
                .arg = i, .op = SCMP_CMP_MASKED_EQ, .datum_a = lowHalf, .datum_b = value};
        }
        if (seccomp_rule_add_array(filter, SCMP_ACT_ERRNO(0), syscall, count, arguments.data()) !=
            0)
        {
            return false;
        }
    }
    return true;
}

} // namespace

bool passNoOpIdCalls()
{
    uid_t real = 0;
    uid_t effective = 0;
    uid_t saved = 0;
    if (::getresuid(&real, &effective, &saved) != 0 || effective != real || saved != real)
    {
        return false;
    }
    // Everything else passes to the filters installed before, the unit's included, of
    // whatever architecture: theirs is the answer.
    const Filter filter(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
    if (!filter || seccomp_attr_set(filter.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW) != 0)
    {
        return false;
    }
    const scmp_arg_cmp negative{
        .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = signBit, .datum_b = signBit};
    // Where several filters answer with an errno, the kernel takes the one installed last:
    // this one's 0 (success) or EBADF replaces the unit's EPERM. The unit's filter refuses
    // seccomp(2) itself (not in @system-service); libseccomp then loads through prctl(2).
    return passUnchanged(filter.get(), SCMP_SYS(setuid), 1, real) &&
           passUnchanged(filter.get(), SCMP_SYS(setreuid), 2, real) &&
           passUnchanged(filter.get(), SCMP_SYS(setresuid), 3, real) &&
           seccomp_rule_add_array(filter.get(), SCMP_ACT_ERRNO(EBADF), SCMP_SYS(fchown), 1,
                                  &negative) == 0 &&
           seccomp_load(filter.get()) == 0;
}

} // namespace pyrunner::helpers
