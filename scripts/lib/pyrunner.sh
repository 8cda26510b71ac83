#!/usr/bin/env bash
# Building pyrunner and starting it in a systemd, shared by scripts/run and bench/run.
# Source it after scripts/lib/machine.sh (callers use set -euo pipefail); the start
# functions run in the machine that machine_start booted, or on the host in host mode.
#   pyrunner_build BUILD_DIR               configure (RelWithDebInfo) and build, incrementally
#   pyrunner_start_broker BUILD_DIR        the root broker, unless it is already running
#   pyrunner_start_front BUILD_DIR UNIT DESCRIPTION ARGS...
#                                          pyrunnerd ARGS... as the unit UNIT, user pyrunner

PYRUNNER_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYRUNNER_START_TIMEOUT_S=30

pyrunner_build() {
    local build=$1
    cmake -S "$PYRUNNER_REPO" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYRUNNER_WERROR=ON
    cmake --build "$build" -j2
}

pyrunner_start_broker() {
    local build=$1
    machine_exec timeout "$PYRUNNER_START_TIMEOUT_S" \
        bash "$PYRUNNER_REPO/scripts/lib/start-broker.sh" "$build"
}

# Type=notify: systemd-run returns once pyrunnerd has said READY=1 (it is serving), and
# fails if the server dies before that.
pyrunner_start_front() {
    local build=$1 unit=$2 description=$3
    shift 3
    if ! machine_exec timeout "$PYRUNNER_START_TIMEOUT_S" systemd-run --quiet --unit="$unit" \
        --collect --property=Type=notify --property=User=pyrunner \
        --description="$description" "$build/pyrunnerd" "$@"; then
        echo "pyrunnerd ($unit) did not start; its log:" >&2
        machine_exec journalctl --no-pager -u "$unit" -n 50 >&2 || true
        return 1
    fi
}
