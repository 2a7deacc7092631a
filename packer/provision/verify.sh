#!/usr/bin/env bash
# Runs inside the booted build VM (debootstrap disk): proves on a running system what base.sh installed
# in a chroot, where nothing could start: first boot applied the build's seed, node and the installed
# tree load, the units are enabled, systemd-sysctl applied the appliance's settings at boot.
set -euo pipefail
fail() { echo "verify: $*" >&2; exit 1; }
systemctl is-enabled --quiet ballast.service || fail "ballast.service is not enabled"
systemctl is-enabled --quiet ballast-firstboot.service || fail "ballast-firstboot.service is not enabled"
[ "$(systemctl show -p Result --value ballast-firstboot.service)" = success ] || fail "first boot did not succeed: $(journalctl -b -u ballast-firstboot --no-pager | tail -n 5)"
[ -s /var/lib/ballast-firstboot/instance-id ] || fail "first boot left no instance-id"
[ "$(sysctl -n net.ipv4.ip_nonlocal_bind)" = 1 ] || fail "sysctls not applied at boot"
getent passwd ballast >/dev/null || fail "no ballast user"
/usr/local/bin/ballast help >/dev/null || fail "the installed tree does not load"
echo "verify: $(cat /opt/ballast/VERSION) with node $(/usr/local/bin/node --version); boot: $(systemd-analyze time 2>/dev/null | head -n 1)"
systemd-analyze blame 2>/dev/null | head -n 8 || true
