#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::core
{

inline constexpr std::string_view defaultEnvironment = "default";

// How Python is started for a run: chosen by the privileged side from the environment's
// name, never by a request.
struct Interpreter
{
    std::string python = "/usr/bin/python3";
    // Before the script; the unit adds -B -u.
    std::vector<std::string> flags{"-I"};
    // NAME=value, set for the run on top of LANG.
    std::vector<std::string> variables;
    // The venv the run sees (read-only) of the environments directory; empty for the
    // system's interpreter.
    std::string directory;
    // Directories the run may not see, where the interpreter would find packages that are
    // not the environment's.
    std::vector<std::string> hiddenPaths;

    bool operator==(const Interpreter&) const = default;
};

enum class EnvironmentKind
{
    // Comes with pyrunner: the system interpreter and Debian's packages.
    Shipped,
    // A venv the operator built (pyrunnerd env create).
    Operator,
    // A venv built for a run's `requirements`, shared by every run with the same list.
    Requirements,
};

std::string_view toString(EnvironmentKind kind);
// The kind toString() names; Shipped for any other text.
EnvironmentKind parseEnvironmentKind(std::string_view text);

struct Package
{
    std::string name;
    std::string version;

    bool operator==(const Package&) const = default;
};

struct Environment
{
    std::string name;
    EnvironmentKind kind = EnvironmentKind::Shipped;
    Interpreter interpreter;
    // Modules its probe must import for it to count as available.
    std::vector<std::string> checkImports;
    // The normalised list a Requirements environment was built from.
    std::vector<std::string> requirements;
    // What the probe found.
    std::string pythonVersion;
    std::vector<Package> packages;
    // How many times it was built by this broker (Requirements environments).
    std::uint32_t builds = 0;
};

// default: the system interpreter, isolated (-I), with the directories of Debian's and
// locally installed Python packages hidden, so the standard library only, even where those
// are installed; site still runs, so exit() and friends are there as scripts expect. datascience:
// the same interpreter with site, so Debian's python3-numpy, -pandas and -matplotlib; matplotlib
// draws without a display and keeps its cache in the run's private /tmp.
std::vector<Environment> shippedEnvironments(const std::string& python);

// A venv at `dir`: its own interpreter link, isolated, with its site-packages.
Environment venvEnvironment(const std::string& name, EnvironmentKind kind, const std::string& dir);

// Lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 64
// characters: safe as a directory name and in a sentence.
bool isEnvironmentName(std::string_view name);

// A script that imports the environment's checkImports and prints what the environment is:
// "python X.Y.Z", then "package NAME VERSION" per distribution it can see.
std::string environmentProbeCode(const Environment& environment);

struct ProbeReport
{
    std::string pythonVersion;
    std::vector<Package> packages;
};

// What the probe printed, or nothing when it is not a probe's report.
std::optional<ProbeReport> parseProbeReport(std::string_view output);

// The environments runs may choose, by name.
class EnvironmentRegistry
{
  public:
    void put(Environment environment);
    const Environment* find(std::string_view name) const;
    // Sorted by name.
    std::vector<Environment> list() const;

  private:
    std::map<std::string, Environment, std::less<>> environments_;
};

} // namespace pyrunner::core
