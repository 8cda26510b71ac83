#pragma once

namespace pyrunner::helpers
{

// Lets this process and all it starts make the id calls that provably change nothing, which
// the unit's system call filter refuses with EPERM along with the rest of @privileged:
// setuid, setreuid and setresuid to its own uid or -1 ("unchanged") succeed without reaching
// the kernel, and fchown of a negative descriptor fails with EBADF, as the kernel would say.
// Any other call, and any other argument, is left to the filters installed before. Returns
// whether the filter was installed: it is not where the process's uids differ, since
// setting one to another would change something.
bool passNoOpIdCalls();

} // namespace pyrunner::helpers
