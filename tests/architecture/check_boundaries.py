#!/usr/bin/env python3
"""The line between the unprivileged front and the root side, as the tree draws it.

Each folder of src/ runs in one process (docs/design.md, "The tree"); a folder may include
only the folders its process links, so that code of the front never reaches into the broker
or the other way round, and a helper that systemd starts as root for every run loads no
library it does not call. Exits non-zero, naming each crossing, when the tree or a program
breaks the line.

    check_boundaries.py --source SRC --program NAME=PATH ...
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

# What each top folder (or front/..., broker/...) may include, besides itself.
SHARED = {"common"}
ALLOWED = {
    "common": SHARED,
    "config": SHARED,
    "daemon": SHARED,
    "protocol": SHARED,
    "cgroup": SHARED,
    "front": SHARED | {"config", "daemon", "protocol"},
    "broker": SHARED | {"config", "daemon", "protocol", "cgroup"},
    "helpers": SHARED | {"cgroup"},
}

# Shared libraries a program must not name in its dynamic section (readelf -d): those it
# has no business calling. The reaper is every run's main process and needs the C library
# and libseccomp alone.
FORBIDDEN_LIBRARIES = {
    "pyrunnerd": [],
    "pyrunner-broker": ["libsqlite3", "libpistache", "libgmime", "libcurl"],
    "pyrunner-unit-stats": ["libsdbus-c++", "libsqlite3", "libtomlplusplus",
                            "libcrypto", "libpistache", "libgmime", "libcurl"],
    # Root, reading what a run left: the C library is all it calls.
    "pyrunner-collect-files": ["libsdbus-c++", "libsystemd", "libsqlite3", "libtomlplusplus",
                               "libcrypto", "libpistache", "libgmime", "libarchive",
                               "libseccomp", "libcurl"],
    # Runs inside every run's unit with files, as the run's user: libarchive and the C++
    # runtime, nothing of the services.
    "pyrunner-unpack-files": ["libsdbus-c++", "libsqlite3", "libtomlplusplus", "libpistache",
                              "libgmime", "libsystemd", "libcurl"],
}
REAPER_LIBRARIES = re.compile(r"^(libc\.so|libm\.so|libseccomp\.so|ld-linux)")
# A sanitizer build's runtimes, which the instrumentation brings, not the program's code.
SANITIZER_RUNTIMES = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def side_of(relative):
    """The folder whose rules a file under src/ follows."""
    return relative.parts[0]


def include_crossings(source):
    problems = []
    for path in sorted(source.rglob("*")):
        if path.suffix not in (".cpp", ".hpp"):
            continue
        relative = path.relative_to(source)
        side = side_of(relative)
        if side not in ALLOWED:
            problems.append(f"{relative}: src/{side}/ is no known folder; add it to {__file__}")
            continue
        for included in INCLUDE.findall(path.read_text()):
            target = included.split("/")[0]
            if target != side and target not in ALLOWED[side]:
                problems.append(f"{relative} includes {included}: src/{side}/ may include only "
                                f"{', '.join(sorted(ALLOWED[side] | {side}))}")
    return problems


def needed_libraries(program):
    dynamic = subprocess.run(["readelf", "-d", program], check=True, capture_output=True,
                             text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    return [library for library in needed if not SANITIZER_RUNTIMES.match(library)]


def library_crossings(programs):
    problems = []
    for name, path in programs.items():
        needed = needed_libraries(path)
        if name == "pyrunner-reaper":
            extra = [library for library in needed if not REAPER_LIBRARIES.match(library)]
            if extra:
                problems.append(f"{name} needs {', '.join(extra)}: it must need the C library and libseccomp alone")
            continue
        for library in needed:
            if any(library.startswith(forbidden) for forbidden in FORBIDDEN_LIBRARIES[name]):
                problems.append(f"{name} needs {library}, which it must not load")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--program", action="append", default=[])
    options = parser.parse_args()
    programs = dict(entry.split("=", 1) for entry in options.program)
    unknown = set(programs) - set(FORBIDDEN_LIBRARIES) - {"pyrunner-reaper"}
    problems = [f"{name}: no rules for this program" for name in sorted(unknown)]
    problems += include_crossings(options.source) + library_crossings(programs)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"no crossing in {options.source} and {len(programs)} programs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
