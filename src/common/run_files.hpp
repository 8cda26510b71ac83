#pragma once

#include "common/cgroup_stats.hpp"
#include "common/fd.hpp"
#include "common/files_manifest.hpp"
#include "common/unit_end.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace pyrunner::core
{

// The per-run directories under <state>/runs. The broker (root) creates and removes them;
// the HTTP front only reads, as a member of their group. They stay root-owned so that no
// one but root can plant a link where systemd opens a run's output. Every access goes
// through a directory fd opened once and O_NOFOLLOW.
class RunFiles
{
  public:
    static constexpr const char* stdoutName = "stdout";
    static constexpr const char* stderrName = "stderr";
    // The stop record: cgroup figures and how systemd says the unit ended (unit_end.hpp).
    static constexpr const char* cgroupStatsName = "cgroup-stats";
    // Where the ExecStopPost helper writes the stop record before renaming it.
    static constexpr const char* cgroupStatsPartialName = "cgroup-stats.partial";
    // Where the broker writes the stop record it read itself before renaming it.
    static constexpr const char* cgroupStatsBrokerName = "cgroup-stats.broker";
    // The run's code, bound read-only into its unit, and its stdin, root-only, which systemd
    // opens as root.
    static constexpr const char* codeName = "main.py";
    static constexpr const char* stdinName = "stdin";
    // The run's output cap in bytes, root-only, written when the run starts: a broker that
    // follows the run after a restart holds it to the cap again from this record, which the
    // run cannot touch.
    static constexpr const char* outputCapName = "output-cap";
    // The files a run brings (a tar the front made of what the request held, every path
    // checked), mode 0604 like the code: the unit binds it in and unpacks it as the run's user.
    static constexpr const char* filesInName = "files-in.tar";
    // The copies of what the run left in out/, named 0, 1, ... (files_manifest.hpp), and the
    // manifest that lists them, both written by the collector as the unit stops.
    static constexpr const char* filesDirName = "files";
    static constexpr const char* filesManifestName = "files-manifest";
    // Where the collector writes its manifest before renaming it.
    static constexpr const char* filesManifestPartialName = "files-manifest.partial";
    // The FIFO the broker hands a warm unit its run through (not the unit's stdin).
    static constexpr const char* handoverName = "handover";
    // The FIFO a warm unit's bootstrap opens and closes once it waits for its run.
    static constexpr const char* readyName = "ready";

    // The HTTP front's own directory under the state directory, for its run store.
    static constexpr const char* frontDirName = "front";

    // Makes <stateDir> and <stateDir>/runs root-owned, group `readerGid`, mode 0750, and
    // <stateDir>/front the front's own (`frontUid`, 0700). Throws std::system_error on
    // failure.
    static void createLayout(const std::string& stateDir, uid_t frontUid, gid_t readerGid);

    // Opens <stateDir>/runs; throws std::system_error if it cannot.
    explicit RunFiles(const std::string& stateDir);

    // Creates the run's directory (setgid, so files made in it belong to `readerGid`) with
    // empty stdout and stderr files the front can read, and returns its absolute path.
    std::string create(const std::string& runId, gid_t readerGid) const;
    // The absolute path of the run's directory, as create() returned it.
    std::string path(const std::string& runId) const;
    void remove(const std::string& runId) const;
    // Writes a new root-only (0600) file in the run's directory; throws std::system_error.
    void writePrivate(const std::string& runId, const char* name, const std::string& data) const;
    // Writes the run's code (codeName), mode 0604: its unit binds the file in, and to the
    // run's dynamic user, who is no one in particular, the file is an "other"'s. The front's
    // group may enter the run directory but not read the file. Throws std::system_error.
    void writeCode(const std::string& runId, const std::string& code) const;
    // Puts the run's code into the code file writeCode() made empty for a warm unit, which
    // has had it bound in since it started: the same file, so that the run finds its script
    // where a cold run does. Throws std::system_error.
    void fillCode(const std::string& runId, const std::string& code) const;
    // Records the run's output cap (outputCapName); throws std::system_error.
    void writeOutputCap(const std::string& runId, std::uint64_t bytes) const;
    // The output cap writeOutputCap() recorded, if it did.
    std::optional<std::uint64_t> outputCap(const std::string& runId) const;
    // Puts the stop record the broker read from the unit's cgroup while the unit was stopping
    // in place (readable by the front, whole or not at all), unless the unit's helper has
    // written its own already. Throws std::system_error.
    void writeStopRecord(const std::string& runId, const std::string& record) const;

    // Copies the files the run brings from `source` (read from its start) into filesInName,
    // mode 0604 like the code; false, and no file, when `source` is empty. Throws
    // std::system_error, and leaves no file, when it cannot or `source` holds more than
    // `maxBytes`.
    bool copyFilesIn(const std::string& runId, int source, std::uint64_t maxBytes) const;
    // What the collector recorded of the run's out/ directory; nothing before it has written its
    // manifest whole, or for one that is not valid.
    std::optional<FilesManifest> filesManifest(const std::string& runId) const;
    // The collector's copy `index` (CollectedFile::index), for reading; invalid if there is none.
    UniqueFd openCollected(const std::string& runId, std::uint32_t index) const;

    struct Read
    {
        std::string data;
        // The file held more than `limit` bytes.
        bool overLimit = false;
        std::uint64_t size = 0;
    };
    // At most `limit` bytes of a file of the run; an absent file reads as empty.
    Read read(const std::string& runId, const char* name, std::uint64_t limit) const;
    std::uint64_t size(const std::string& runId, const char* name) const;
    // A file of the run, for reading; invalid if the run or the file is not there.
    UniqueFd open(const std::string& runId, const char* name) const;
    CgroupStats cgroupStats(const std::string& runId) const;
    // The warm unit's handover FIFO, for writing (and reading, so that opening never waits);
    // an invalid fd for a run that had none.
    UniqueFd openHandover(const std::string& runId) const;
    UnitEnd unitEnd(const std::string& runId) const;

  private:
    UniqueFd openRunDir(const std::string& runId) const;
    // Creates the file `name`, which must not exist yet, with `mode` and `data`, in the
    // run's directory `dir` (invalid: the run has none, which throws too).
    void writeNew(const UniqueFd& dir, const std::string& runId, const char* name,
                  const std::string& data, mode_t mode) const;

    std::string runsPath_;
    UniqueFd runsDir_;
};

} // namespace pyrunner::core
