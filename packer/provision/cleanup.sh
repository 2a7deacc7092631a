#!/usr/bin/env bash
# Runs last inside the image being built: forgets this build's identity so every VM made from the image
# is a first boot (new machine-id, new SSH host key, ballast-firstboot runs again and reads its own seed).
set -euo pipefail
systemctl stop ballast.service 2>/dev/null || true
rm -rf /var/lib/ballast/* /etc/ballast/ballast.yaml
# Debian's cloud image flavour keeps cloud-init; the debootstrap disk has ballast-firstboot instead.
if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs --seed; fi
rm -rf /var/lib/ballast-firstboot
rm -f /etc/systemd/network/10-seed-*.network
rm -f /etc/ssh/ssh_host_*
# The build VM's name (from its seed) must not stick: a VM without a seed is plain `ballast`.
echo ballast >/etc/hostname
sed -i 's/^127\.0\.1\.1\s.*/127.0.1.1 ballast/' /etc/hosts
rm -f /root/.ssh/authorized_keys
rm -rf /tmp/ballast-upload
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /etc/network/interfaces.d/50-cloud-init /etc/network/interfaces.d/50-cloud-init.cfg
apt-get clean
rm -rf /var/lib/apt/lists/*
journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
rm -rf /var/log/journal/* /var/tmp/*
# Let the qcow2 conversion drop the freed blocks (the disk is attached with discard=unmap).
fstrim -av || true
sync
