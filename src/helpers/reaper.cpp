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
//
// First it names the run's user and group to the run itself: systemd made them for this unit
// alone, and only the host's systemd, out of the run's reach, could tell their names. So
// pwd.getpwuid(os.getuid()) and the like find a user record (nss-systemd's drop-in format) in
// the run's own userdb directory, which the unit binds at /run/userdb and its nsswitch.conf
// names. Best effort: a run whose records could not be written still runs.
//
// Last, in the interpreter's process, it lets through the id calls that change nothing
// (src/helpers/noop_id_calls.hpp): the unit's system call filter refuses all of @privileged,
// setuid(getuid()) and posix_spawn's POSIX_SPAWN_RESETIDS among them. Best effort as well: a
// run without that filter sees those calls fail with EPERM, as the unit's filter says.

#include "helpers/noop_id_calls.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

namespace
{

// As a shell reports a command that could not be run.
constexpr int notExecutable = 127;
constexpr int killedBase = 128;

constexpr const char* userdbDir = "/run/userdb";
// A user name systemd could have chosen: letters, digits, '_' and '-', as useradd takes them.
constexpr std::size_t maxNameLength = 31;
constexpr const char* fallbackName = "pyrunner";

bool isPlainName(const char* name)
{
    const std::size_t length = std::strlen(name);
    if (length == 0 || length > maxNameLength || name[0] == '-')
    {
        return false;
    }
    return std::strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
           length;
}

// A path that needs no escaping in a JSON string.
bool isPlainPath(const char* path)
{
    if (path[0] != '/')
    {
        return false;
    }
    for (const char* c = path; *c != '\0'; ++c)
    {
        if (*c == '"' || *c == '\\' || static_cast<unsigned char>(*c) < ' ')
        {
            return false;
        }
    }
    return true;
}

// Writes `text` to the new file `name` in the userdb directory, and links `alias` to it.
void writeRecord(const char* name, const char* alias, const char* text, int length)
{
    char path[256];
    std::snprintf(path, sizeof path, "%s/%s", userdbDir, name);
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
    {
        return;
    }
    const bool written = ::write(fd, text, static_cast<std::size_t>(length)) == length;
    ::close(fd);
    if (written)
    {
        char link[256];
        std::snprintf(link, sizeof link, "%s/%s", userdbDir, alias);
        ::symlink(name, link);
    }
}

void nameUserAndGroup()
{
    const char* name = std::getenv("USER");
    if (name == nullptr || !isPlainName(name))
    {
        name = fallbackName;
    }
    const char* home = std::getenv("HOME");
    if (home == nullptr || !isPlainPath(home))
    {
        home = "/";
    }
    const unsigned uid = ::getuid();
    const unsigned gid = ::getgid();
    char text[1024];
    char file[64];
    char alias[64];
    int length = std::snprintf(text, sizeof text,
                               "{\"userName\":\"%s\",\"uid\":%u,\"gid\":%u,"
                               "\"homeDirectory\":\"%s\",\"shell\":\"/usr/sbin/nologin\"}\n",
                               name, uid, gid, home);
    if (length > 0 && static_cast<std::size_t>(length) < sizeof text)
    {
        std::snprintf(file, sizeof file, "%s.user", name);
        std::snprintf(alias, sizeof alias, "%u.user", uid);
        writeRecord(file, alias, text, length);
    }
    length = std::snprintf(text, sizeof text, "{\"groupName\":\"%s\",\"gid\":%u}\n", name, gid);
    if (length > 0 && static_cast<std::size_t>(length) < sizeof text)
    {
        std::snprintf(file, sizeof file, "%s.group", name);
        std::snprintf(alias, sizeof alias, "%u.group", gid);
        writeRecord(file, alias, text, length);
    }
}

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
    nameUserAndGroup();
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
        pyrunner::helpers::passNoOpIdCalls();
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
