#!/usr/bin/env bash
# The VM test host: Debian of this host's release with systemd as PID 1 on the pure cgroup v2
# hierarchy, its own kernel and a real disk, as production hosts are (the nspawn machine of
# scripts/lib/machine.sh is hybrid v1 on a tmpfs root). qemu emulates the CPU (-accel tcg):
# KVM opens on these machines but its guests do not get past early boot.
#
#   vm.sh image DEB DIR        makes DIR/disk.img, the kernel and initrd it boots, and the ssh
#                              keys that reach it: a debootstrap root (kept in DIR/debootstrap
#                              until its inputs change) with DEB installed by apt
#   vm.sh hold DIR LOG_DIR     boots DIR's image, prints "ready RUN_DIR" once ssh reaches it,
#                              powers it off when stdin reaches EOF or on a signal (so the VM
#                              dies with its user; qemu also dies with this script). The disk
#                              is a snapshot: what runs inside never changes the image. The
#                              console goes to LOG_DIR/vm-console.log.
#   vm.sh exec RUN_DIR CMD...  runs CMD in the VM (as root, over ssh)
# RUN_DIR holds RUN_DIR/ssh_config (host "vm") and RUN_DIR/monitor, qemu's human monitor, which
# forwards more loopback ports (hostfwd_add net0 tcp:127.0.0.1:PORT-:PORT).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/debian-root.sh
source "$REPO/scripts/lib/debian-root.sh"

VM_BOOT_TIMEOUT_S=${VM_BOOT_TIMEOUT_S:-300}
VM_STOP_TIMEOUT_S=${VM_STOP_TIMEOUT_S:-60}
VM_MEMORY_MB=${VM_MEMORY_MB:-3072}
VM_DISK_SIZE=3G
# qemu's user network puts the guest here; its loopback ports are forwarded to it.
VM_ADDRESS=10.0.2.15
# What the VM needs beyond the package's dependencies: a kernel to boot, systemd as PID 1,
# the network, the ssh server the tests reach it by, and curl for a look from inside.
VM_PACKAGES=(systemd systemd-sysv dbus udev kmod iproute2 linux-image-amd64 openssh-server curl)

VM_PID=""
VM_RUN=""

vm_say() {
    printf 'vm: %s\n' "$*" >&2
}

vm_fail() {
    vm_say "error: $*"
    return 1
}

# Runs a step with its output in LOG, shown only if it fails.
vm_logged() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        vm_fail "$1 failed; its whole output is in $log"
    fi
}

vm_configure_root() {
    local root=$1 dir=$2
    echo pyrunner-vm >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 pyrunner-vm\n' >"$root/etc/hosts"
    echo '/dev/vda / ext4 rw 0 1' >"$root/etc/fstab"
    # A fixed address, not DHCP: qemu's user network forwards to it, and it saves the wait.
    mkdir -p "$root/etc/systemd/network"
    printf '[Match]\nName=e*\n\n[Network]\nAddress=%s/24\nGateway=10.0.2.2\n' "$VM_ADDRESS" \
        >"$root/etc/systemd/network/10-qemu.network"
    # The host's key is made here and pinned on this side, so ssh checks whom it talks to.
    rm -f "$root"/etc/ssh/ssh_host_*
    ssh-keygen -q -t ed25519 -N '' -C pyrunner-vm -f "$root/etc/ssh/ssh_host_ed25519_key"
    printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nUseDNS no\n' \
        >"$root/etc/ssh/sshd_config.d/pyrunner-vm.conf"
    printf 'pyrunner-vm %s\n' "$(cut -d' ' -f1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub")" \
        >"$dir/known_hosts"
    ssh-keygen -q -t ed25519 -N '' -C pyrunner-vm-tests -f "$dir/id_ed25519"
    install -d -m 0700 "$root/root/.ssh"
    install -m 0600 "$dir/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
    # Nothing of its own that would fetch or run at a random time during a test.
    debian_root_exec "$root" systemctl enable --quiet systemd-networkd.service ssh.service
    debian_root_exec "$root" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer \
        e2scrub_all.timer fstrim.timer
}

vm_image() {
    local deb=$1 dir=$2 includes cache key root
    ((EUID == 0)) || vm_fail "making the VM's image needs root (debootstrap, apt in its root)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The first of each alternative, without versions.
    includes=$({ dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g'
        printf '%s\n' "${VM_PACKAGES[@]}"; } | sort -u | paste -sd, -)
    cache=$(debian_root_cached "$dir/debootstrap" "$(dpkg-deb -f "$deb" Depends)" "$includes")
    # The image is only read (each boot writes to a snapshot), so one serves until the
    # package, the root or the way it is made changes.
    key=$(cat "$deb" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)-$(basename "$cache")
    if [[ -f $dir/disk.img && $(cat "$dir/image.key" 2>/dev/null) == "$key" ]]; then
        vm_say "$dir/disk.img is up to date"
        return 0
    fi
    root=$dir/root
    rm -rf "$root" "$dir/image.key" "$dir/disk.img" "$dir/vmlinuz" "$dir/initrd.img" "$dir"/id_ed25519* \
        "$dir/known_hosts"
    cp -a "$cache" "$root"
    cp "$deb" "$root/var/tmp/"
    vm_logged "$dir/apt-install.log" debian_root_exec "$root" apt-get install -y \
        "/var/tmp/$(basename "$deb")"
    rm -f "$root/var/tmp/$(basename "$deb")"
    vm_configure_root "$root" "$dir"
    cp "$root"/boot/vmlinuz-* "$dir/vmlinuz"
    cp "$root"/boot/initrd.img-* "$dir/initrd.img"
    truncate -s "$VM_DISK_SIZE" "$dir/disk.img.partial"
    vm_logged "$dir/mkfs.log" mkfs.ext4 -q -L pyrunner-vm -d "$root" "$dir/disk.img.partial"
    mv "$dir/disk.img.partial" "$dir/disk.img"
    rm -rf "$root"
    echo "$key" >"$dir/image.key"
    vm_say "$dir/disk.img: $(basename "$cache") with $(basename "$deb")"
}

vm_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

vm_ssh() {
    ssh -F "$VM_RUN/ssh_config" vm "$@"
}

vm_stop() {
    local pid=$VM_PID
    VM_PID=""
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # An orderly poweroff; qemu exits when it is done (-no-reboot).
        timeout 20 ssh -F "$VM_RUN/ssh_config" -o ControlMaster=no vm systemctl poweroff \
            >/dev/null 2>&1 || true
        if ! timeout "$VM_STOP_TIMEOUT_S" tail --pid="$pid" -s 0.2 -f /dev/null >/dev/null; then
            vm_say "the VM did not power off within ${VM_STOP_TIMEOUT_S}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        vm_say "the VM stopped"
    fi
    if [[ -n $VM_RUN ]]; then
        ssh -F "$VM_RUN/ssh_config" -O exit vm >/dev/null 2>&1 || true
        rm -rf "$VM_RUN"
        VM_RUN=""
    fi
}

# Waits until ssh reaches the VM and its systemd has finished starting up.
vm_wait_until_up() {
    local deadline=$1 state=""
    until vm_ssh -o ConnectTimeout=10 true 2>/dev/null; do
        kill -0 "$VM_PID" 2>/dev/null || vm_fail "qemu exited during boot" || return
        ((SECONDS < deadline)) ||
            vm_fail "ssh did not reach the VM within ${VM_BOOT_TIMEOUT_S}s" || return
        sleep 1
    done
    state=$(timeout $((deadline > SECONDS ? deadline - SECONDS : 1)) \
        ssh -F "$VM_RUN/ssh_config" vm systemctl is-system-running --wait 2>/dev/null) || true
    case $state in
        running | degraded) ;;
        *) vm_fail "the VM's systemd did not come up (state: ${state:-none})" ;;
    esac
}

vm_hold() {
    local dir=$1 logs=$2 port started=$SECONDS
    dir=$(cd "$dir" && pwd)
    [[ -f $dir/disk.img ]] || vm_fail "$dir/disk.img is missing: run vm.sh image first"
    command -v qemu-system-x86_64 >/dev/null ||
        vm_fail "qemu-system-x86_64 is missing: run scripts/install-deps.sh"
    mkdir -p "$logs"
    trap vm_stop EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # Short: the ssh control socket's path must fit a socket address.
    VM_RUN=$(mktemp -d /tmp/pyrunner-vm.XXXXXX)
    port=$(vm_free_port)
    cat >"$VM_RUN/ssh_config" <<EOF
Host vm
    HostName 127.0.0.1
    Port $port
    User root
    HostKeyAlias pyrunner-vm
    UserKnownHostsFile $dir/known_hosts
    StrictHostKeyChecking yes
    IdentityFile $dir/id_ed25519
    IdentitiesOnly yes
    BatchMode yes
    LogLevel ERROR
    # One connection for every command: a key exchange on an emulated CPU is slow.
    ControlMaster auto
    ControlPath $VM_RUN/ssh
    ControlPersist yes
    ServerAliveInterval 15
EOF
    # restrict=on: the guest reaches nothing outside; forwarded ports still reach it.
    # --pdeathsig: should this script be killed outright, qemu goes with it.
    setpriv --pdeathsig KILL qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$VM_MEMORY_MB" \
        -display none -no-reboot -serial "file:$logs/vm-console.log" \
        -monitor "unix:$VM_RUN/monitor,server=on,wait=off" \
        -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 systemd.firstboot=off systemd.show_status=no" \
        -drive "file=$dir/disk.img,if=virtio,format=raw,snapshot=on" \
        -nic "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-$VM_ADDRESS:22" \
        </dev/null >"$logs/vm-qemu.log" 2>&1 &
    VM_PID=$!
    vm_wait_until_up $((SECONDS + VM_BOOT_TIMEOUT_S)) || {
        tail -n 30 "$logs/vm-console.log" >&2 || true
        return 1
    }
    vm_say "up after $((SECONDS - started)) s: $(vm_ssh uname -r), cgroup" \
        "$(vm_ssh stat -f -c %T /sys/fs/cgroup)"
    printf 'ready %s\n' "$VM_RUN"
    # Our reader may be gone by the time we stop; nothing more is for it.
    exec >/dev/null
    while read -r _; do
        :
    done
}

vm_main() {
    case ${1-} in
        image)
            (($# == 3)) || { vm_say "usage: vm.sh image DEB DIR"; return 2; }
            vm_image "$2" "$3"
            ;;
        hold)
            (($# == 3)) || { vm_say "usage: vm.sh hold DIR LOG_DIR"; return 2; }
            vm_hold "$2" "$3"
            ;;
        exec)
            (($# >= 3)) || { vm_say "usage: vm.sh exec RUN_DIR CMD..."; return 2; }
            VM_RUN=$2
            shift 2
            local quoted
            # ssh hands the remote shell one string.
            printf -v quoted '%q ' "$@"
            vm_ssh "$quoted"
            ;;
        *)
            vm_say "usage: vm.sh image DEB DIR | hold DIR LOG_DIR | exec RUN_DIR CMD..."
            return 2
            ;;
    esac
}

vm_main "$@"
