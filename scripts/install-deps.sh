#!/usr/bin/env bash
# Installs every Debian package pyrunner needs to build, run and test, so a fresh Debian 12
# machine needs nothing by hand. Idempotent: when everything is there it does nothing, so
# scripts/run and scripts/test call it every time (and work offline once it has run).
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libsdbus-c++-dev libsdbus-c++-bin libpistache-dev nlohmann-json3-dev libsystemd-dev libgmime-3.0-dev
    libcli11-dev libsqlite3-dev libtomlplusplus-dev
    libcli11-dev libsqlite3-dev libssl-dev
    # the files a run brings: uploaded archives read, the bundle written and unpacked
    libarchive-dev
    # the reaper's seccomp filter, which lets the id calls that change nothing through
    libseccomp-dev
    # callback_url: the front's POST of a finished run to the submitter's receiver
    libcurl4-openssl-dev
    # unit tests and source checks
    libgtest-dev libgmock-dev googletest clang-format clang-tidy
    # the fuzz targets: clang++ and its runtimes for -fsanitize=fuzzer,address,undefined
    clang libclang-rt-14-dev
    # the throwaway systemd machine (scripts/lib/machine.sh) and what runs inside it
    systemd systemd-container dbus libnss-systemd procps
    # integration tests and the quick start
    curl python3 python3-pytest python3-requests
    # the client (src/client): its types checked, and its terminal display driven (tests/client,
    # tests/integration/test_client_terminal.py)
    python3-mypy tmux
    # parses GET /metrics the way Prometheus does (tests/integration/test_observability.py)
    python3-prometheus-client
    # the shipped "datascience" environment, and building operators' and per-run environments
    python3-numpy python3-pandas python3-matplotlib
    python3-venv python3-pip python3-setuptools python3-wheel
    # CPython's own test suite, run bare and through pyrunner by the yardstick
    # (tests/integration/test_yardstick.py)
    libpython3.11-testsuite
    # the .deb and .rpm (packaging/build) and their test in a clean root (packaging/test)
    git debhelper rpm lintian debootstrap
    # the VM test host (scripts/lib/vm.sh): a Debian root booted with its own kernel under
    # emulation, driven over ssh
    qemu-system-x86 openssh-client
)

missing_packages() {
    local -A installed=()
    local name status
    # Unknown names print nothing on stdout, so they count as missing too.
    while read -r name status; do
        [[ $status == ii ]] && installed[$name]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for name in "${PACKAGES[@]}"; do
        [[ -n ${installed[$name]-} ]] || echo "$name"
    done
}

# apt is quiet unless it fails; then all it said is shown.
apt_quietly() {
    local log
    log=$(mktemp)
    if ! DEBIAN_FRONTEND=noninteractive apt-get -q -y "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "install-deps: 'apt-get $*' failed (output above)" >&2
        return 1
    fi
    rm -f "$log"
}

main() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ((EUID != 0)); then
        echo "install-deps: missing ${missing[*]}; run this script as root to install them" >&2
        return 1
    fi
    echo "install-deps: installing ${missing[*]}"
    apt_quietly update
    apt_quietly install --no-install-recommends "${missing[@]}"
}

main "$@"
