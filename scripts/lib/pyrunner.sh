#!/usr/bin/env bash
# Building pyrunner and starting it in a systemd, shared by scripts/run and bench/run.
# Source it after scripts/lib/machine.sh (callers use set -euo pipefail); the start
# functions run in the machine that machine_start booted, or on the host in host mode.
#   pyrunner_build BUILD_DIR               configure (RelWithDebInfo) and build, incrementally
#   pyrunner_start_broker BUILD_DIR        the root broker, unless it is already running
#   pyrunner_start_front BUILD_DIR UNIT DESCRIPTION ARGS...
#                                          pyrunnerd ARGS... as the unit UNIT, user pyrunner
#   pyrunner_create_token BUILD_DIR TENANT prints a new admin token of TENANT, whose tokens
#                                          so far are revoked first

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

# Every request but /healthz and /openapi.json needs a token. In the machine the tokens file
# goes with it; in host mode it is the host's /etc/pyrunner/tokens, which revoking first keeps
# from piling up tokens over re-runs. `token create` prints the token alone on stdout and a
# sentence on stderr, shown here only if it fails.
pyrunner_create_token() {
    local build=$1 tenant=$2 said token
    machine_exec "$build/pyrunnerd" token revoke "$tenant" >/dev/null 2>&1 || true
    said=$(mktemp "${TMPDIR:-/tmp}/pyrunner-token.XXXXXX")
    if ! token=$(machine_exec "$build/pyrunnerd" token create "$tenant" --admin 2>"$said") ||
        [[ -z $token ]]; then
        echo "could not create a token for the tenant $tenant:" >&2
        cat "$said" >&2
        rm -f "$said"
        return 1
    fi
    rm -f "$said"
    printf '%s\n' "$token"
}
