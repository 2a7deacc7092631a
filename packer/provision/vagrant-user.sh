#!/usr/bin/env bash
# Runs inside the Vagrant box flavour only: the `vagrant` user with Vagrant's published insecure key,
# which `vagrant up` replaces with a generated key on first contact (config.ssh.insert_key).
set -euo pipefail
# https://github.com/hashicorp/vagrant/blob/main/keys/vagrant.pub (public by design; boxes must carry it)
key='ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key'
if ! getent passwd vagrant >/dev/null; then
  useradd --create-home --shell /bin/bash vagrant
fi
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
printf '%s\n' "$key" >/home/vagrant/.ssh/authorized_keys
chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys
chmod 0600 /home/vagrant/.ssh/authorized_keys
printf 'vagrant ALL=(ALL) NOPASSWD:ALL\n' >/etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
# A Vagrant machine boots without a seed: the image's networkd default (DHCP on every NIC) brings up
# Vagrant's management NIC, and Vagrant writes its own networkd units for the private networks.
