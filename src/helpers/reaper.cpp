// The main process of every run unit, and the parent of the run's interpreter: argv[1] with
// the arguments after it. It reaps the interpreter the moment it ends, so that the kernel can
// tell the broker how the run ended (through the pidfd the broker holds on the interpreter)
// before systemd can: systemd learns of it only when this process ends, and then holds itself
// for an RCU grace period moving the stop-post helper into the unit's cgroup before it says
// anything. This process then ends as the interpreter did, so that systemd records the run's
// own end.
//
// It runs inside the run's sandbox, as the run's user: it holds nothing a run could use, and a
// run that kills it ends itself: the interpreter is killed with it.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

namespace
{

// As a shell reports a command that could not be run.
constexpr int notExecutable = 127;
constexpr int killedBase = 128;

// Ends this process as `status` says the interpreter ended.
int endAs(int status)
{
    if (!WIFSIGNALED(status))
    {
        return WEXITSTATUS(status);
    }
    const int number = WTERMSIG(status);
    std::signal(number, SIG_DFL);
    sigset_t only{};
    sigemptyset(&only);
    sigaddset(&only, number);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    std::raise(number);
    // A signal whose default is not to end a process did not end the interpreter either.
    return killedBase + number;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2)
    {
        std::fputs("usage: pyrunner-reaper PROGRAM [ARGUMENT...]\n", stderr);
        return EX_USAGE;
    }
    const pid_t self = ::getpid();
    const pid_t child = ::fork();
    if (child < 0)
    {
        std::perror("pyrunner-reaper: fork");
        return EX_OSERR;
    }
    if (child == 0)
    {
        // Else the interpreter would outlive a killed reaper, to be reaped by systemd: its
        // end would then be told by whichever of the broker and systemd came first.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != self)
        {
            ::_exit(killedBase + SIGKILL);
        }
        ::execv(argv[1], argv + 1);
        std::perror(argv[1]);
        ::_exit(notExecutable);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
    {
        if (errno != EINTR)
        {
            std::perror("pyrunner-reaper: waitpid");
            return EX_OSERR;
        }
    }
    return endAs(status);
}
