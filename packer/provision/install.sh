#!/usr/bin/env bash
# Runs inside the image being built (as root, from packer): installs Node.js, Ballast under /opt/ballast,
# the `ballast` system user, the systemd unit and the sysctls. The uploads are in /tmp/ballast-upload.
set -euo pipefail
up=/tmp/ballast-upload
export DEBIAN_FRONTEND=noninteractive

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
systemctl daemon-reload
systemctl enable ballast.service
sysctl -q -p /etc/sysctl.d/60-ballast.conf

echo "install: $(cat /opt/ballast/VERSION 2>/dev/null || echo ballast) with node $node_version"
