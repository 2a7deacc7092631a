#!/usr/bin/env bash
# Runs last inside the image being built: forgets this build's identity so every VM made from the image
# is a first boot (new machine-id, new SSH host keys, cloud-init runs again and reads its own user-data).
set -euo pipefail
systemctl stop ballast.service 2>/dev/null || true
rm -rf /var/lib/ballast/* /etc/ballast/ballast.yaml
cloud-init clean --logs --seed
rm -f /etc/ssh/ssh_host_*
# The build VM's name (from its seed) must not stick: a VM without a seed is plain `ballast`.
echo ballast >/etc/hostname
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
