#!/usr/bin/env bash
# Builds the disk packer starts from: debootstrap of Debian 12 into a rootfs, the OS packages and settings
# (cached: a second run reuses them), then Ballast installed into it (APP_UPLOAD), then a bootable qcow2.
# Everything heavy happens here, natively in a chroot; under packer's emulated VM only what needs a
# booted system is left (packer/provision/verify.sh, cleanup.sh).
#
# Usage: scripts/image/base.sh OUTPUT.qcow2
# Env:   APP_UPLOAD   directory with what packer/provision/install.sh installs (ballast-app.tar.gz, node,
#                     the unit files, install.sh itself; build.sh stages it). Unset: an OS-only disk.
#        BASE_MIRROR  Debian mirror (default: the first Debian URI in apt's configured sources)
#        BASE_SIZE_MB disk size in MiB (default 2048; first boot grows the root filesystem to a larger disk)
#        BASE_WORK    scratch directory (default: next to OUTPUT)
#        BASE_FRESH   1 = debootstrap and install the OS again even when the cached rootfs is current
#        BASE_OS_ONLY 1 = stop once the OS rootfs is made (build.sh makes it while the app compiles)
#
# No loop device, no mount: `mkfs.ext4 -d` writes the rootfs straight into the partition of a raw file
# (`-E offset`), and GRUB's boot.img and a core.img made by grub-mkimage are written into the MBR and the gap
# before the partition, which is what grub-install would do on a block device. So it runs in containers too.
set -euo pipefail

out=$(realpath -m "${1:?usage: base.sh OUTPUT.qcow2}")
suite=bookworm
size_mb=${BASE_SIZE_MB:-2048}
work=${BASE_WORK:-$(dirname "$out")/base-work}
files=$(cd "$(dirname "$0")/../../packer/files" && pwd)
part_start=2048 # sectors: 1 MiB, the usual alignment; GRUB's core.img lives in sectors 1..2047

log() { printf 'base: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "debootstrap and chroot need root"
  exit 1
fi
for tool in debootstrap sfdisk mkfs.ext4 qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || { log "missing $tool (scripts/image/install-deps.sh installs it)"; exit 1; }
done

mirror_from_apt() {
  # deb822 (bookworm's default) first, then the one-line format; the security archive is not a mirror.
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | grep debian | head -n1 || true)
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}
mirror=${BASE_MIRROR:-$(mirror_from_apt)}

rootfs=$work/rootfs
raw=$work/disk.raw
mkdir -p "$work" "$(dirname "$out")"

cleanup_mounts() {
  for m in dev/pts dev proc sys; do
    if mountpoint -q "$rootfs/$m" 2>/dev/null; then umount -l "$rootfs/$m" || true; fi
  done
}
trap cleanup_mounts EXIT

packages=(
  # boot and init
  linux-image-cloud-amd64 initramfs-tools grub-pc-bin systemd-sysv udev dbus e2fsprogs
  # network: systemd-networkd (part of systemd) configures the NICs; no ifupdown/dhclient shell scripts,
  # which took half a minute of DHCP under emulation
  iproute2 iputils-ping iputils-arping netbase
  # access; first boot (ballast-firstboot, not cloud-init) needs blkid/mount/sfdisk/partx/resize2fs
  openssh-server sudo ca-certificates fdisk util-linux
  # Node.js (copied in from the build host) links libstdc++
  libstdc++6
  procps less
)
# The cached rootfs is reused only if it was made from this list and this script.
stamp=$( { printf '%s\n' "${packages[@]}"; cat "$0"; } | sha256sum | cut -c1-16)

started=$(date +%s)
# A changed list or script installs and configures the OS again over the cached debootstrap; BASE_FRESH
# (and CI, from a clean clone) starts from nothing.
if [ "${BASE_FRESH:-0}" = 1 ]; then rm -f "$work/debootstrap.done"; fi
if [ "${BASE_FRESH:-0}" = 1 ] || [ "$(cat "$work/os.done" 2>/dev/null)" != "$stamp" ]; then rm -f "$work/os.done"; fi
# debootstrap lays down minbase only, and apt inside the chroot installs the rest: apt's resolver, not
# debootstrap's, which does not follow virtual packages.
if [ -e "$work/debootstrap.done" ]; then
  log "reusing the debootstrap in $rootfs"
else
  rm -rf "$rootfs"
  log "debootstrap $suite (minbase) from $mirror"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  touch "$work/debootstrap.done"
  log "debootstrap done in $(($(date +%s) - started)) s"
fi

mount --bind /proc "$rootfs/proc"
mount --bind /sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"

os_stage() {
# No service starts inside the chroot while packages install; dpkg skips its fsyncs (a throwaway tree:
# a crash here means building again), which is most of its time on a busy disk.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/ballast-build"
printf 'deb %s %s main\n' "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
log "installing ${#packages[@]} packages with apt in the chroot"
{
  chroot "$rootfs" apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -q --no-install-recommends "${packages[@]}"
} >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/dpkg/dpkg.cfg.d/ballast-build"
log "packages installed at $(($(date +%s) - started)) s"

# --- configure the rootfs -------------------------------------------------------------------------
echo ballast >"$rootfs/etc/hostname"
cat >"$rootfs/etc/hosts" <<'EOF'
127.0.0.1 localhost
127.0.1.1 ballast
::1 localhost ip6-localhost ip6-loopback
EOF
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
# Network: systemd-networkd, DHCP on every NIC unless the seed's network-config says otherwise.
install -m 0644 "$files/80-ballast-dhcp.network" "$rootfs/etc/systemd/network/80-ballast-dhcp.network"
mkdir -p "$rootfs/etc/systemd/system/sockets.target.wants" "$rootfs/etc/systemd/system/network-online.target.wants" \
  "$rootfs/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
ln -sf /lib/systemd/system/systemd-networkd.socket "$rootfs/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service "$rootfs/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
# Online = one NIC configured, and never more than 30 s: a node with an unplugged second NIC still starts.
mkdir -p "$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30
EOF

# sshd: keys only. Its host key is made per machine at first start, never baked into the image; one
# ed25519 key only, since an RSA-3072 key alone takes many seconds to generate under emulation.
mkdir -p "$rootfs/etc/ssh/sshd_config.d" "$rootfs/etc/systemd/system/ssh.service.d"
cat >"$rootfs/etc/ssh/sshd_config.d/50-ballast.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
EOF
# The key must exist before Debian's own `sshd -t` check, so the unit's pre-start list is replaced.
cat >"$rootfs/etc/systemd/system/ssh.service.d/host-keys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
EOF
rm -f "$rootfs"/etc/ssh/ssh_host_*

# A serial console for headless boots (qemu -nographic, the boot test, `virsh console`).
mkdir -p "$rootfs/etc/systemd/system/getty.target.wants"
ln -sf /lib/systemd/system/serial-getty@.service "$rootfs/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"

# e2scrub_reap only tidies LVM snapshots, which the appliance has none of.
ln -sf /dev/null "$rootfs/etc/systemd/system/e2scrub_reap.service"

# First boot gets its own machine-id (DHCP client ids, journald); an empty file marks "not yet set".
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"

# The initramfs the kernel package made is the one booted: the cloud kernel builds in virtio and ext4,
# and nothing configured since changes what the initramfs needs (making it again cost half a minute).
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/debootstrap" "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log "$rootfs"/tmp/*

}

if [ "$(cat "$work/os.done" 2>/dev/null)" = "$stamp" ]; then
  log "reusing the OS in $rootfs (BASE_FRESH=1 makes it again)"
else
  os_stage
  echo "$stamp" >"$work/os.done"
fi
if [ "${BASE_OS_ONLY:-0}" = 1 ]; then
  log "OS ready in $rootfs at $(($(date +%s) - started)) s"
  exit 0
fi

# Each disk gets its own filesystem UUID, which fstab and GRUB find the root by.
uuid=$(cat /proc/sys/kernel/random/uuid)
cat >"$rootfs/etc/fstab" <<EOF
UUID=$uuid / ext4 errors=remount-ro 0 1
EOF

# --- Ballast, installed natively in the chroot ------------------------------------------------------
if [ -n "${APP_UPLOAD:-}" ]; then
  rm -rf "$rootfs/tmp/ballast-upload"
  cp -a "$APP_UPLOAD" "$rootfs/tmp/ballast-upload"
  chroot "$rootfs" /bin/bash /tmp/ballast-upload/install.sh >"$work/install.log" 2>&1 ||
    { tail -n 30 "$work/install.log" >&2; exit 1; }
  rm -rf "$rootfs/tmp/ballast-upload"
  log "$(tail -n 1 "$work/install.log") (in the chroot, at $(($(date +%s) - started)) s)"
fi

# GRUB: a static config through Debian's /vmlinuz and /initrd.img links, which kernel upgrades keep pointing
# at the newest kernel, so no update-grub is ever needed.
mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/boot/grub/i386-pc/"
cat >"$rootfs/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
menuentry 'Ballast appliance (Debian 12)' {
  insmod part_msdos
  insmod ext2
  insmod gzio
  search --no-floppy --fs-uuid --set=root $uuid
  linux /vmlinuz root=UUID=$uuid ro console=tty0 console=ttyS0,115200n8 net.ifnames=0
  initrd /initrd.img
}
EOF
chroot "$rootfs" grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux search search_fs_uuid configfile echo test serial terminal gzio
mv "$rootfs/tmp/core.img" "$work/core.img"
cp "$rootfs/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"
cleanup_mounts

# --- the disk ------------------------------------------------------------------------------------
used_mb=$(du -sm "$rootfs" | cut -f1)
if [ "$size_mb" -lt $((used_mb * 3 / 2 + 256)) ]; then
  size_mb=$((used_mb * 3 / 2 + 256))
  log "rootfs is ${used_mb} MiB: disk grown to ${size_mb} MiB"
fi
rm -f "$raw"
truncate -s "${size_mb}M" "$raw"
printf 'label: dos\nstart=%s, type=83, bootable\n' "$part_start" | sfdisk --quiet "$raw"
part_bytes=$(( (size_mb * 1024 * 1024) - part_start * 512 ))
mkfs.ext4 -F -q -L ballast-root -U "$uuid" -d "$rootfs" -E offset=$((part_start * 512)) "$raw" "$((part_bytes / 1024))k"

core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
if [ "$core_sectors" -ge "$part_start" ]; then
  log "core.img is $core_sectors sectors: does not fit before the partition"
  exit 1
fi
# boot.img's code only (440 bytes), keeping the partition table; it loads core.img from sector 1 (its default).
dd if="$work/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none

qemu-img convert -f raw -O qcow2 "$raw" "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$raw"
log "wrote $out ($(du -h "$out" | cut -f1) on disk, ${size_mb} MiB virtual, rootfs ${used_mb} MiB) in $(($(date +%s) - started)) s"
