#!/usr/bin/env bash
# A throwaway systemd for the integration tests and the quick start.
#
# pyrunner starts every run as a transient systemd unit, so it needs a real system manager.
# Where PID 1 is systemd we use it as it is ("host" mode). Elsewhere (the development and
# CI machines: PID 1 is not systemd, cgroups are hybrid v1) we boot systemd-nspawn over the
# host's own / with a tmpfs root: the host's /usr, libraries and /usr/bin/python3 are all
# there, /etc, /var and /run start empty, and nothing survives the machine. The machine
# shares the host's network namespace, so a server listening on 127.0.0.1 inside is
# reachable from the host on the same address.
#
# As a library (source it; callers use set -euo pipefail):
#   machine_start [DIR...]   boot, binding each DIR read-only at the same path inside
#   machine_start_root ROOT  boot the tree ROOT as it is (what runs inside changes it) with a
#                            network of its own, loopback only; even where PID 1 is systemd
#   machine_exec CMD...      run CMD inside (its systemd, its system bus, its journal)
#   machine_stop             power off and wait; idempotent, safe to call from a trap
# As a command:
#   machine.sh hold [DIR...]       boot, print "ready TARGET", stop when stdin reaches EOF
#                                  or on a signal (so the machine dies with its user)
#   machine.sh exec TARGET CMD...  run CMD in the machine a "hold" reported
# TARGET is the machine's leader PID, or "host" in host mode.

MACHINE_BOOT_TIMEOUT_S=${MACHINE_BOOT_TIMEOUT_S:-60}
MACHINE_STOP_TIMEOUT_S=${MACHINE_STOP_TIMEOUT_S:-30}
# The v1 controllers the run units' limits live in (test-host notes, fact 4).
MACHINE_CONTROLLERS=(memory cpu cpuacct pids blkio)

MACHINE_TARGET=""
MACHINE_NAME=""
MACHINE_NSPAWN_PID=""
MACHINE_LOG=""
MACHINE_CGROUPS=()

machine_say() {
    printf 'machine: %s\n' "$*" >&2
}

machine_host_runs_systemd() {
    [[ -d /run/systemd/system && "$(cat /proc/1/comm)" == systemd ]]
}

machine_exec() {
    if [[ $MACHINE_TARGET == host ]]; then
        "$@"
    else
        # A clean environment: the host's (a pyenv PATH, CI variables) means nothing inside.
        nsenter -t "$MACHINE_TARGET" -a \
            env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
    fi
}

# nspawn --keep-unit runs the machine in the cgroup it is started from, and the systemd
# inside builds its tree (init.scope, system.slice, ...) right there in every v1 hierarchy.
# Started from a hierarchy's root, as shells here are for name=systemd, pids and cpu, two
# machines would share one tree and each would manage, and at shutdown kill, the other's
# processes. So each machine gets a child cgroup of its own, beneath the current one, in
# every hierarchy it writes to; they are removed when it stops.
machine_make_cgroups() {
    local hierarchy path root dir
    while IFS=: read -r _ hierarchy path; do
        case $hierarchy in
            name=systemd) root=/sys/fs/cgroup/systemd ;;
            "") root=/sys/fs/cgroup/unified
                [[ -d $root ]] || root=/sys/fs/cgroup ;;
            memory | cpu | cpuacct | cpu,cpuacct | pids | blkio) root=/sys/fs/cgroup/$hierarchy ;;
            *) continue ;;
        esac
        dir=${root}${path%/}/$MACHINE_NAME
        mkdir "$dir" || return
        MACHINE_CGROUPS+=("$dir")
    done </proc/self/cgroup
}

machine_cgroups_empty() {
    local dir
    for dir in "${MACHINE_CGROUPS[@]}"; do
        [[ -z $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null) ]] || return 1
    done
}

machine_remove_cgroups() {
    local deadline=$((SECONDS + 10)) dir
    # After a forced kill the kernel tears the machine down asynchronously.
    until machine_cgroups_empty || ((SECONDS >= deadline)); do
        sleep 0.1
    done
    for dir in "${MACHINE_CGROUPS[@]}"; do
        # Depth first: systemd inside may have left its own (empty) groups beneath ours.
        find "$dir" -depth -type d -exec rmdir {} + ||
            machine_say "warning: could not remove $dir; processes of the machine may be left"
    done
    MACHINE_CGROUPS=()
}

# Runs in the subshell that becomes nspawn, so only that process moves.
machine_join_cgroups() {
    local dir
    for dir in "${MACHINE_CGROUPS[@]}"; do
        echo "$BASHPID" >"$dir/cgroup.procs" || exit
    done
}

machine_fail_boot() {
    machine_say "error: $*"
    if [[ -s $MACHINE_LOG ]]; then
        machine_say "systemd-nspawn said:"
        sed 's/^/  /' "$MACHINE_LOG" >&2
    fi
    return 1
}

# The leader is the machine's PID 1: the systemd child of our nspawn.
machine_find_leader() {
    local deadline=$1 leader
    while ((SECONDS < deadline)); do
        kill -0 "$MACHINE_NSPAWN_PID" 2>/dev/null ||
            { machine_fail_boot "systemd-nspawn exited during boot"; return 1; }
        if leader=$(pgrep --parent "$MACHINE_NSPAWN_PID" --exact systemd); then
            MACHINE_TARGET=$leader
            return 0
        fi
        sleep 0.05
    done
    machine_fail_boot "systemd did not start within ${MACHINE_BOOT_TIMEOUT_S}s"
}

# "systemctl is-system-running --wait" awaits the end of startup, but only once the manager
# answers on its private socket; until then (and while it re-executes) it fails at once,
# so this retries briefly. Nothing outside the machine can be notified of either moment.
# (nsenter rather than machine_exec: timeout runs programs, not shell functions.)
machine_wait_until_up() {
    local deadline=$1 state=""
    while ((SECONDS < deadline)); do
        state=$(timeout $((deadline - SECONDS)) \
            nsenter -t "$MACHINE_TARGET" -a systemctl is-system-running --wait 2>/dev/null) || true
        case $state in
            running | degraded) return 0 ;;
            maintenance | stopping) break ;;
        esac
        kill -0 "$MACHINE_NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
    done
    machine_fail_boot "the machine did not come up within ${MACHINE_BOOT_TIMEOUT_S}s" \
        "(last state: ${state:-none})"
}

# nspawn mounts the v1 controller hierarchies read-only, so systemd inside would start units
# without memory/cpu/pids cgroups and MemoryMax, CPUQuota, TasksMax would silently do
# nothing. Make them writable and have systemd re-execute to pick them up.
machine_enable_controllers() {
    # shellcheck disable=SC2016 # expanded inside the machine
    machine_exec sh -c 'for c in "$@"; do
        if mountpoint -q "/sys/fs/cgroup/$c"; then
            mount -o remount,rw,bind "/sys/fs/cgroup/$c" || exit
        fi
    done' sh "${MACHINE_CONTROLLERS[@]}" &&
        machine_exec systemctl daemon-reexec
}

machine_start() {
    if machine_host_runs_systemd; then
        MACHINE_TARGET=host
        machine_say "PID 1 is systemd: using the host's systemd"
        return 0
    fi
    # /etc starts empty, but what Debian's Python packages need from it is the host's, read-only:
    # the alternatives (numpy finds libblas.so.3 through them), matplotlib's configuration and
    # fontconfig's, which matplotlib reads when it draws text.
    local dir binds=(--bind-ro=/etc/alternatives)
    [[ -e /etc/matplotlibrc ]] && binds+=(--bind-ro=/etc/matplotlibrc)
    # A run unit binds its own over it, which needs the file to be there.
    [[ -e /etc/nsswitch.conf ]] && binds+=(--bind-ro=/etc/nsswitch.conf)
    [[ -e /etc/fonts ]] && binds+=(--bind-ro=/etc/fonts)
    for dir; do
        binds+=("--bind-ro=$dir")
    done
    machine_boot -D / --volatile=yes "${binds[@]}"
}

# A tree of its own, such as a debootstrap root: a test of what is installed in it needs its
# systemd, not the host's; and its servers' ports then clash with none on the host.
machine_start_root() {
    machine_boot -D "$1" --private-network
}

# Boots systemd-nspawn with these options (the root, what to bind) and waits until it is up.
machine_boot() {
    ((EUID == 0)) || { machine_say "error: booting a machine needs root"; return 1; }
    command -v systemd-nspawn >/dev/null ||
        { machine_say "error: systemd-nspawn is missing: run scripts/install-deps.sh"; return 1; }

    local started=${EPOCHREALTIME//[.,]/} deadline=$((SECONDS + MACHINE_BOOT_TIMEOUT_S))
    # Unique, since tests may run while another machine is up: nspawn keys state by name.
    MACHINE_NAME=pyrunner-$$-$RANDOM
    MACHINE_LOG=$(mktemp "${TMPDIR:-/tmp}/$MACHINE_NAME.XXXXXX.log")
    machine_make_cgroups || return

    # setsid: a Ctrl-C on the terminal reaches us, not the machine; we power it off in order.
    # systemd.firstboot=off: else systemd-firstboot waits for keyboard input. A read-only
    # console is drained into the log; a passive one fills up, and PID 1 then blocks writing
    # to it. systemd.show_status=no keeps the status lines out of it in the first place.
    (
        machine_join_cgroups
        exec setsid systemd-nspawn --quiet --register=no --keep-unit "$@" \
            -M "$MACHINE_NAME" --console=read-only -b systemd.firstboot=off systemd.show_status=no
    ) </dev/null >"$MACHINE_LOG" 2>&1 &
    MACHINE_NSPAWN_PID=$!

    machine_find_leader "$deadline" &&
        machine_wait_until_up "$deadline" &&
        machine_enable_controllers &&
        machine_wait_until_up "$deadline" ||
        return
    machine_say "$MACHINE_NAME is up (leader PID $MACHINE_TARGET) after" \
        "$(((${EPOCHREALTIME//[.,]/} - started) / 1000)) ms"
}

machine_stop() {
    local pid=$MACHINE_NSPAWN_PID
    MACHINE_NSPAWN_PID=""
    MACHINE_TARGET=""
    if [[ -n $pid ]]; then
        # nspawn turns SIGTERM into an orderly poweroff of the machine. tail --pid awaits its
        # exit with a bound (bash's wait has none); its stdout is /dev/null because tail -f
        # quits at once when that is a closed pipe.
        if kill -TERM "$pid" 2>/dev/null &&
            ! timeout "$MACHINE_STOP_TIMEOUT_S" tail --pid="$pid" -s 0.1 -f /dev/null >/dev/null; then
            machine_say "$MACHINE_NAME did not power off within ${MACHINE_STOP_TIMEOUT_S}s: killing it"
            # Its PID 1 dies with nspawn, and the kernel then kills the rest of the machine.
            # nspawn cannot remove its per-machine directory then, so we do.
            kill -KILL "$pid" 2>/dev/null || true
            rmdir "/run/systemd/nspawn/propagate/$MACHINE_NAME" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        machine_say "$MACHINE_NAME stopped"
    fi
    machine_remove_cgroups
    if [[ -n $MACHINE_LOG ]]; then
        rm -f "$MACHINE_LOG"
        MACHINE_LOG=""
    fi
}

machine_hold() {
    trap machine_stop EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    machine_start "$@"
    printf 'ready %s\n' "$MACHINE_TARGET"
    # Our reader may be gone by the time we stop; nothing more is for it.
    exec >/dev/null
    while read -r _; do
        :
    done
}

machine_main() {
    case ${1-} in
        hold)
            shift
            machine_hold "$@"
            ;;
        exec)
            (($# >= 3)) || { machine_say "usage: machine.sh exec TARGET CMD..."; return 2; }
            MACHINE_TARGET=$2
            shift 2
            machine_exec "$@"
            ;;
        *)
            machine_say "usage: machine.sh hold [DIR...] | machine.sh exec TARGET CMD..."
            return 2
            ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    machine_main "$@"
fi
