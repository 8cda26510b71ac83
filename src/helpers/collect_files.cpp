// ExecStopPost helper of a run unit that may leave files: it copies what the run wrote into
// its out/ directory into the run's directory on the host, with a manifest of what it took
// and what it left, for the front to serve once the unit is gone.
//
//   pyrunner-collect-files --out /tmp/out --into RUN_DIR --files-count N --files-bytes B
//       --seconds S
//
// systemd starts it with full privileges ("+"), in the unit's mount namespace, after every
// process of the run has been killed: the run's /tmp, which the run owned and filled, is at
// /tmp, and RUN_DIR at its path on the host. Root following a run's links is how other code
// runners gave their hosts away (Judge0, CVE-2024-28185 and CVE-2024-28189), so this process
// never opens anything under out/: a child that drops to the run's user walks it and sends
// what it finds over a pipe, and this process checks every record and writes the copies
// (src/helpers/files_collector.hpp).
//
// It exits 0 whenever it wrote a manifest, even an empty or truncated one; only a run
// directory it cannot use makes it fail, with a message on stderr, which systemd passes to
// the journal.

#include "common/fd.hpp"
#include "common/text.hpp"
#include "helpers/files_collector.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace
{

using pyrunner::core::UniqueFd;

constexpr int usageError = 2;

struct Options
{
    std::string out;
    std::string into;
    pyrunner::helpers::CollectLimits limits;
};

std::optional<std::uint64_t> number(std::string_view text, std::uint64_t max)
{
    const auto value = pyrunner::core::parseUnsigned(text);
    if (!value || *value > max)
    {
        return std::nullopt;
    }
    return value;
}

// Each option once, in any order; nothing else.
std::optional<Options> parseOptions(int argc, char** argv)
{
    Options options;
    std::optional<std::uint64_t> count;
    std::optional<std::uint64_t> bytes;
    std::optional<std::uint64_t> seconds;
    bool sawOut = false;
    bool sawInto = false;
    constexpr auto anyValue = std::numeric_limits<std::uint64_t>::max();
    for (int i = 1; i + 1 < argc; i += 2)
    {
        const std::string_view option = argv[i];
        const std::string_view value = argv[i + 1];
        bool fresh = false;
        if (option == "--out")
        {
            fresh = !std::exchange(sawOut, true);
            options.out = value;
        }
        else if (option == "--into")
        {
            fresh = !std::exchange(sawInto, true);
            options.into = value;
        }
        else if (option == "--files-count" && !count)
        {
            count = number(value, std::numeric_limits<std::uint32_t>::max());
            fresh = count.has_value();
        }
        else if (option == "--files-bytes" && !bytes)
        {
            bytes = number(value, anyValue);
            fresh = bytes.has_value();
        }
        else if (option == "--seconds" && !seconds)
        {
            seconds = number(value, anyValue);
            fresh = seconds.has_value();
        }
        if (!fresh)
        {
            return std::nullopt;
        }
    }
    if (argc % 2 != 1 || !sawOut || !sawInto || !count || !bytes || !seconds)
    {
        return std::nullopt;
    }
    options.limits.filesCount = static_cast<std::uint32_t>(*count);
    options.limits.filesBytes = *bytes;
    options.limits.time = std::chrono::seconds(
        static_cast<std::int64_t>(std::min<std::uint64_t>(*seconds, INT32_MAX)));
    return options;
}

// The out directory as its parent's path and its own name, or nothing unless `out` is an
// absolute path that ends in a name.
std::optional<std::pair<std::string, std::string>> splitOut(const std::string& out)
{
    const auto slash = out.rfind('/');
    if (out.empty() || out.front() != '/' || slash == std::string::npos)
    {
        return std::nullopt;
    }
    auto name = out.substr(slash + 1);
    if (name.empty() || name == "." || name == "..")
    {
        return std::nullopt;
    }
    return std::pair{slash == 0 ? std::string("/") : out.substr(0, slash), std::move(name)};
}

void fail(const std::string& what)
{
    std::fprintf(stderr, "pyrunner-collect-files: %s\n", what.c_str());
}

} // namespace

int main(int argc, char** argv)
{
    const auto options = parseOptions(argc, argv);
    const auto out = options ? splitOut(options->out) : std::nullopt;
    if (!options || !out)
    {
        fail("usage: pyrunner-collect-files --out /ABSOLUTE/DIR --into RUN_DIR --files-count N "
             "--files-bytes B --seconds S");
        return usageError;
    }
    // systemd's stop timeout sends SIGTERM: what is complete by then is still listed, as
    // truncated. Blocked from the start, so that none is lost.
    sigset_t stopSignals{};
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    ::sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
    const UniqueFd stop(::signalfd(-1, &stopSignals, SFD_CLOEXEC | SFD_NONBLOCK));
    // The unit's LimitFSIZE caps the run's output and would cap the copies too.
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &unlimited);

    const UniqueFd runDir(
        ::open(options->into.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!runDir)
    {
        fail("cannot open " + options->into + ": " + std::strerror(errno));
        return 1;
    }
    if (pyrunner::helpers::alreadyCollected(runDir.get()))
    {
        return 0;
    }
    UniqueFd filesDir;
    try
    {
        filesDir = pyrunner::helpers::prepareFilesDir(runDir.get());
    }
    catch (const std::system_error& e)
    {
        fail(options->into + ": " + e.what());
        return 1;
    }
    pyrunner::core::FilesManifest manifest;
    // The run's /tmp is a mount systemd made: no link of the run's can stand in for it.
    const UniqueFd outParent(
        ::open(out->first.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (outParent)
    {
        manifest = pyrunner::helpers::collectFiles(outParent.get(), out->second, filesDir.get(),
                                                   options->limits, stop.get());
    }
    if (!pyrunner::helpers::writeManifest(runDir.get(), manifest))
    {
        fail("cannot write the manifest in " + options->into + ": " + std::strerror(errno));
        return 1;
    }
    return 0;
}
