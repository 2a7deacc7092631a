#!/usr/bin/env bash
# Installs the Debian packages the image build and the image boot test need, only those missing.
#
# Usage: scripts/image/install-deps.sh [vagrant] [vagrant-libvirt] [sshd]
#   vagrant          also Vagrant (for `vagrant validate` of the project's Vagrantfile)
#   vagrant-libvirt  also the libvirt provider plugin and libvirt's daemon (a real `vagrant up`)
#   sshd             also OpenSSH's server binary, which test/image/deploy-ssh.test.ts runs on loopback
#                    with a config of its own (the package's own ssh service is not started)
set -euo pipefail
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v packer >/dev/null 2>&1 || need+=(packer)
command -v genisoimage >/dev/null 2>&1 || need+=(genisoimage)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
for extra in "$@"; do
  case "$extra" in
    vagrant) command -v vagrant >/dev/null 2>&1 || need+=(vagrant) ;;
    vagrant-libvirt) { dpkg -s vagrant-libvirt && dpkg -s dnsmasq-base; } >/dev/null 2>&1 || need+=(vagrant-libvirt libvirt-daemon-system dnsmasq-base) ;;
    sshd) [ -x /usr/sbin/sshd ] || need+=(openssh-server) ;;
    *) echo "image deps: unknown extra '$extra' (vagrant, vagrant-libvirt, sshd)" >&2; exit 2 ;;
  esac
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "image deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No service a package brings (ssh, libvirtd) is started on this machine by its install: the lab
  # scripts start what they need, where they need it. policy-rc.d is how Debian says so.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
