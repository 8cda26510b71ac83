#!/usr/bin/env bash
# Runs inside the systemd that will host pyrunner (a throwaway machine, or a host whose PID 1
# is systemd): creates the HTTP front's system user and /etc/pyrunner (where
# `pyrunnerd token create` keeps the tokens), installs the broker's D-Bus policy and starts
# pyrunner-broker from a build directory, unless it is already running. Runs' requirements
# are installed from BUILD_DIR/wheels.
#   start-broker.sh BUILD_DIR
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$1
# Not "pyrunner-...": that prefix names the runs' own units (pyrunner-<id>.service).
UNIT=pyrunnerd-broker

systemd-sysusers --inline 'u pyrunner - "pyrunner HTTP front"'
# As the package makes it: the front (group pyrunner) reads the tokens, runs (other) cannot
# even list it. The token command gives its files the directory's group.
install -d -m 0750 -o root -g pyrunner /etc/pyrunner
install -D -m 0644 "$REPO/policy/org.pyrunner.Broker1.conf" /etc/dbus-1/system.d/org.pyrunner.Broker1.conf
# The bus reads policy files only when told; the user must exist by then.
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig

if ! systemctl is-active --quiet "$UNIT"; then
    # Type=notify: returns once the broker owns its bus name, and fails if it dies first.
    systemd-run --quiet --unit="$UNIT" --collect --property=Type=notify \
        --description="pyrunner broker (development)" \
        "$BUILD/pyrunner-broker" --unit-stats "$BUILD/pyrunner-unit-stats" --reaper "$BUILD/pyrunner-reaper" \
        --collect-files "$BUILD/pyrunner-collect-files" --unpack-files "$BUILD/pyrunner-unpack-files" \
        --wheel-dir "$BUILD/wheels"
fi
