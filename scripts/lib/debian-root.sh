#!/usr/bin/env bash
# Clean Debian roots of this host's release, made by debootstrap from this host's own Debian
# source and kept until what went into them changes. The package test (packaging/test) boots
# one with systemd-nspawn; the VM test host (scripts/lib/vm.sh) boots one under qemu.
#
# As a library (source it; callers use set -euo pipefail):
#   debian_root_cached DIR KEY INCLUDES   prints the path of a root made with the packages
#                                         INCLUDES (comma-separated) under DIR, made if need
#                                         be; KEY is whatever else, when it changes, calls for
#                                         a new root (the versions a package depends on).
#                                         debootstrap's output is in DIR/debootstrap.log.
#   debian_root_exec ROOT CMD...          runs CMD inside ROOT without booting it, as dpkg
#                                         runs maintainer scripts in a chroot

debian_root_say() {
    printf 'debian-root: %s\n' "$*" >&2
}

# The mirror this host's apt uses for its release, so the root gets the same packages.
debian_root_mirror() {
    local codename=$1 mirror
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's placeholder, not the shell's
    mirror=$(apt-get indextargets --format '$(REPO_URI)' "Codename: $codename" 'Label: Debian' \
        'Created-By: Packages' | sort -u | head -n 1)
    [[ -n $mirror ]] ||
        { debian_root_say "error: apt on this host has no Debian $codename source"; return 1; }
    echo "$mirror"
}

debian_root_cached() {
    local dir=$1 key=$2 includes=$3 codename mirror cache
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    key=$(printf '%s\n%s\n%s\n' "$codename" "$includes" "$key" | sha256sum | cut -c1-16)
    cache=$dir/$codename-$key
    if [[ ! -d $cache ]]; then
        mirror=$(debian_root_mirror "$codename") || return
        debian_root_say "debootstrap $codename from this host's Debian source (once; kept in $cache)"
        # One root per directory: an older one is of no more use.
        rm -rf "$dir"
        mkdir -p "$dir"
        if ! debootstrap --variant=minbase --include="$includes" "$codename" "$cache.partial" \
            "$mirror" >"$dir/debootstrap.log" 2>&1; then
            tail -n 40 "$dir/debootstrap.log" >&2
            debian_root_say "error: debootstrap failed; its whole output is in $dir/debootstrap.log"
            return 1
        fi
        mv "$cache.partial" "$cache"
    fi
    echo "$cache"
}

debian_root_exec() {
    local root=$1
    shift
    systemd-nspawn --quiet --register=no --keep-unit -D "$root" \
        env DEBIAN_FRONTEND=noninteractive "$@"
}
