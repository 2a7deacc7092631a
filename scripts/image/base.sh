#!/usr/bin/env bash
# Builds the appliance's base disk: debootstrap of Debian 12 into a rootfs, then a bootable qcow2 from it.
#
# Usage: scripts/image/base.sh OUTPUT.qcow2
# Env:   BASE_MIRROR  Debian mirror (default: the first Debian URI in apt's configured sources)
#        BASE_SIZE_MB disk size in MiB (default 2048; cloud-init grows the root filesystem to fit a larger disk)
#        BASE_WORK    scratch directory (default: next to OUTPUT)
#
# No loop device, no mount: `mkfs.ext4 -d` writes the rootfs straight into the partition of a raw file
# (`-E offset`), and GRUB's boot.img and a core.img made by grub-mkimage are written into the MBR and the gap
# before the partition, which is what grub-install would do on a block device. So it runs in containers too.
set -euo pipefail

out=$(realpath -m "${1:?usage: base.sh OUTPUT.qcow2}")
suite=bookworm
size_mb=${BASE_SIZE_MB:-2048}
work=${BASE_WORK:-$(dirname "$out")/base-work}
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
  # network: ifupdown is what cloud-init renders to on Debian 12, and what Vagrant configures
  ifupdown isc-dhcp-client iproute2 iputils-ping iputils-arping netbase
  # access and first boot
  openssh-server sudo cloud-init cloud-guest-utils ca-certificates
  # Node.js (copied in by the packer build) links libstdc++
  libstdc++6
  procps less
)

started=$(date +%s)
# debootstrap lays down minbase only: its resolver does not follow virtual packages (cloud-init's
# python3-cryptography needs python3-cffi-backend-api-*), so apt inside the chroot installs the rest.
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
# No service starts inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
printf 'deb %s %s main\n' "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
log "installing ${#packages[@]} packages with apt in the chroot"
{
  chroot "$rootfs" apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -q --no-install-recommends "${packages[@]}"
} >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
rm -f "$rootfs/usr/sbin/policy-rc.d"
log "packages installed at $(($(date +%s) - started)) s"

uuid=$(cat /proc/sys/kernel/random/uuid)

# --- configure the rootfs -------------------------------------------------------------------------
echo ballast >"$rootfs/etc/hostname"
cat >"$rootfs/etc/hosts" <<'EOF'
127.0.0.1 localhost
127.0.1.1 ballast
::1 localhost ip6-localhost ip6-loopback
EOF
cat >"$rootfs/etc/fstab" <<EOF
UUID=$uuid / ext4 errors=remount-ro 0 1
EOF
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
cat >"$rootfs/etc/network/interfaces" <<'EOF'
# cloud-init writes the NICs' stanzas into interfaces.d (DHCP on the first NIC when nothing says otherwise)
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
EOF

# cloud-init: only the sources a Ballast node can meet, so a boot never waits on a metadata service probe.
mkdir -p "$rootfs/etc/cloud/cloud.cfg.d"
cat >"$rootfs/etc/cloud/cloud.cfg.d/90-ballast.cfg" <<'EOF'
# Ballast appliance: a NoCloud seed (label cidata) or an OpenStack config drive, else nothing.
datasource_list: [NoCloud, ConfigDrive, None]
# Grow the root partition and filesystem to the disk the VM was given.
growpart: { mode: auto, devices: ["/"] }
resize_rootfs: true
# No locales package in the image: C.UTF-8 is built into glibc.
locale: false
# Only the modules an appliance uses: every one costs seconds under software emulation. write_files and
# users/ssh run in the first stage, before ballast.service (After=cloud-init.service) starts.
cloud_init_modules:
  - seed_random
  - bootcmd
  - write_files
  - growpart
  - resizefs
  - set_hostname
  - update_hostname
  - update_etc_hosts
  - users_groups
  - ssh
cloud_config_modules:
  - set_passwords
  - timezone
  - runcmd
cloud_final_modules:
  - write_files_deferred
  - scripts_per_once
  - scripts_per_boot
  - scripts_per_instance
  - scripts_user
  - ssh_authkey_fingerprints
  - final_message
  - power_state_change
EOF

# sshd: keys only. Host keys are made per machine at boot (cloud-init regenerates them per instance,
# ssh-keygen -A covers a boot without cloud-init), never baked into the image.
mkdir -p "$rootfs/etc/ssh/sshd_config.d" "$rootfs/etc/systemd/system/ssh.service.d"
cat >"$rootfs/etc/ssh/sshd_config.d/50-ballast.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
EOF
cat >"$rootfs/etc/systemd/system/ssh.service.d/host-keys.conf" <<'EOF'
[Service]
ExecStartPre=/usr/bin/ssh-keygen -A
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

# The initramfs needs the virtio disk and ext4; the cloud kernel builds them in or ships them.
chroot "$rootfs" update-initramfs -u -k all >/dev/null 2>&1
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/debootstrap" "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log "$rootfs"/tmp/*

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
