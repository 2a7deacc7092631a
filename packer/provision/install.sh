#!/usr/bin/env bash
# Installs Node.js, Ballast under /opt/ballast, the `ballast` system user, the systemd unit, the sysctls
# and (when uploaded) the first-boot program. The uploads are in /tmp/ballast-upload. Runs natively in
# the image's chroot (scripts/image/base.sh, the fast path), or inside a booted VM (packer from Debian's
# cloud image, Vagrant's VirtualBox provider).
set -euo pipefail
up=/tmp/ballast-upload
export DEBIAN_FRONTEND=noninteractive

# In a chroot, / is not PID 1's root (systemd-detect-virt --chroot said no in the build's chroot here,
# where the build host itself is a container without systemd).
in_chroot=0
if [ "$(stat -c %d:%i /)" != "$(stat -Lc %d:%i /proc/1/root 2>/dev/null || echo none)" ]; then in_chroot=1; fi

# The build's own cloud-init run (it authorized packer's key) must be over before anything is changed.
cloud-init status --wait >/dev/null 2>&1 || true

# An official Debian cloud image lacks arping; the debootstrap base has it. Only that path needs the network.
if ! command -v arping >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends iputils-arping >/dev/null
fi

install -m 0755 "$up/node" /usr/local/bin/node
node_version=$(/usr/local/bin/node --version)
case "$node_version" in
  v2[0-9].*) ;;
  *) echo "install: node $node_version is older than 20" >&2; exit 1 ;;
esac

if ! getent passwd ballast >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/ballast --no-create-home --shell /usr/sbin/nologin ballast
fi

# The app is root's and read-only to the daemon; only /var/lib/ballast (StateDirectory) is writable.
rm -rf /opt/ballast
mkdir -p /opt/ballast
tar -xzf "$up/ballast-app.tar.gz" -C /opt/ballast --no-same-owner
chown -R root:root /opt/ballast
ln -sf /opt/ballast/bin/ballast.js /usr/local/bin/ballast
# The installed tree must load: `ballast help` imports the whole CLI from dist/ with the shipped node_modules.
/usr/local/bin/ballast help >/dev/null

install -d -m 0750 -o root -g ballast /etc/ballast
install -m 0640 -o root -g ballast "$up/ballast.yaml.example" /etc/ballast/ballast.yaml.example
install -m 0644 "$up/ballast.service" /etc/systemd/system/ballast.service
install -m 0644 "$up/60-ballast.conf" /etc/sysctl.d/60-ballast.conf
if [ -f "$up/firstboot.mjs" ]; then
  install -D -m 0644 "$up/firstboot.mjs" /usr/local/lib/ballast/firstboot.mjs
  install -m 0644 "$up/ballast-firstboot.service" /etc/systemd/system/ballast-firstboot.service
  systemctl enable ballast-firstboot.service
fi
systemctl enable ballast.service
# In a chroot, sysctl would set the build host's kernel and there is no systemd to reload.
if [ "$in_chroot" = 0 ]; then
  systemctl daemon-reload
  sysctl -q -p /etc/sysctl.d/60-ballast.conf
fi

echo "install: $(cat /opt/ballast/VERSION 2>/dev/null || echo ballast) with node $node_version"
