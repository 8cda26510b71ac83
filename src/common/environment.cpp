#include "common/environment.hpp"

#include <algorithm>
#include <filesystem>

namespace pyrunner::core
{
namespace
{

constexpr std::size_t maxNameLength = 64;

bool isNameCharacter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Text printed by the probe is a single token per field; anything else is not a report.
bool isToken(std::string_view text)
{
    return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    });
}

std::vector<std::string_view> words(std::string_view line)
{
    std::vector<std::string_view> out;
    while (!line.empty())
    {
        const auto space = line.find(' ');
        out.push_back(line.substr(0, space));
        if (space == std::string_view::npos)
        {
            break;
        }
        line.remove_prefix(space + 1);
    }
    return out;
}

// Where Debian's python3-* packages (/usr/lib/python3/dist-packages, and the parts that
// depend on the version, such as numpy's, in /usr/lib/python3.X/dist-packages) and pip's
// system-wide installs (/usr/local/lib) live.
std::vector<std::string> defaultHiddenPaths()
{
    std::vector<std::string> paths{"/usr/lib/python3/dist-packages", "/usr/local/lib"};
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", error))
    {
        const auto name = entry.path().filename().string();
        if (name.starts_with("python3.") && entry.is_directory(error))
        {
            paths.push_back(entry.path().string() + "/dist-packages");
        }
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

} // namespace

std::string_view toString(EnvironmentKind kind)
{
    switch (kind)
    {
    case EnvironmentKind::Shipped:
        return "shipped";
    case EnvironmentKind::Operator:
        return "operator";
    case EnvironmentKind::Requirements:
        return "requirements";
    }
    return "shipped";
}

EnvironmentKind parseEnvironmentKind(std::string_view text)
{
    for (const auto kind :
         {EnvironmentKind::Shipped, EnvironmentKind::Operator, EnvironmentKind::Requirements})
    {
        if (toString(kind) == text)
        {
            return kind;
        }
    }
    return EnvironmentKind::Shipped;
}

std::vector<Environment> shippedEnvironments(const std::string& python)
{
    Environment plain;
    plain.name = std::string(defaultEnvironment);
    plain.interpreter = Interpreter{python, {"-I"}, {}, {}, defaultHiddenPaths()};

    Environment science;
    science.name = "datascience";
    // The run's /tmp is private to it, so the caches written there (matplotlib's, and
    // fontconfig's, which matplotlib uses to draw text) are its own. BLAS would
    // start a thread per CPU of the host, against the run's task limit and CPU quota.
    science.interpreter =
        Interpreter{python,
                    {"-I"},
                    {"MPLBACKEND=Agg", "MPLCONFIGDIR=/tmp/.matplotlib",
                     "XDG_CACHE_HOME=/tmp/.cache", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1"},
                    {},
                    {}};
    science.checkImports = {"numpy", "pandas", "matplotlib.pyplot"};
    return {plain, science};
}

Environment venvEnvironment(const std::string& name, EnvironmentKind kind, const std::string& dir)
{
    Environment environment;
    environment.name = name;
    environment.kind = kind;
    environment.interpreter = Interpreter{dir + "/bin/python", {"-I"}, {}, dir, {}};
    return environment;
}

bool isEnvironmentName(std::string_view name)
{
    return !name.empty() && name.size() <= maxNameLength && name.front() != '-' &&
           name.front() != '_' && std::all_of(name.begin(), name.end(), isNameCharacter);
}

std::string environmentProbeCode(const Environment& environment)
{
    std::string code = "import importlib, importlib.metadata, platform\n";
    for (const auto& module : environment.checkImports)
    {
        code += "importlib.import_module('" + module + "')\n";
    }
    code += R"python(print("python", platform.python_version())
seen = set()
for dist in importlib.metadata.distributions():
    name, version = dist.metadata["Name"], dist.version
    if name and version and " " not in name + version and name.lower() not in seen:
        seen.add(name.lower())
        print("package", name, version)
)python";
    return code;
}

std::optional<ProbeReport> parseProbeReport(std::string_view output)
{
    ProbeReport report;
    while (!output.empty())
    {
        const auto end = output.find('\n');
        const auto fields = words(output.substr(0, end));
        output.remove_prefix(end == std::string_view::npos ? output.size() : end + 1);
        if (fields.size() == 2 && fields[0] == "python" && isToken(fields[1]))
        {
            report.pythonVersion = fields[1];
        }
        else if (fields.size() == 3 && fields[0] == "package" && isToken(fields[1]) &&
                 isToken(fields[2]))
        {
            report.packages.push_back(Package{std::string(fields[1]), std::string(fields[2])});
        }
        else
        {
            return std::nullopt;
        }
    }
    if (report.pythonVersion.empty())
    {
        return std::nullopt;
    }
    std::sort(report.packages.begin(), report.packages.end(),
              [](const Package& a, const Package& b) { return a.name < b.name; });
    return report;
}

void EnvironmentRegistry::put(Environment environment)
{
    auto name = environment.name;
    environments_.insert_or_assign(std::move(name), std::move(environment));
}

const Environment* EnvironmentRegistry::find(std::string_view name) const
{
    const auto it = environments_.find(name);
    return it == environments_.end() ? nullptr : &it->second;
}

std::vector<Environment> EnvironmentRegistry::list() const
{
    std::vector<Environment> out;
    out.reserve(environments_.size());
    for (const auto& [name, environment] : environments_)
    {
        out.push_back(environment);
    }
    return out;
}

} // namespace pyrunner::core
