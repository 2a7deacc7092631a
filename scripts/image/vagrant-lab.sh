#!/usr/bin/env bash
# Runs Vagrant's libvirt provider inside a network namespace of its own: libvirtd, its bridges, dnsmasq
# and NAT rules live there, never in the machine's root namespace (and there is no route out of it).
#
# Usage: scripts/image/vagrant-lab.sh start           netns + virtlogd + libvirtd, box added from packer/output
#        scripts/image/vagrant-lab.sh vagrant ARGS... e.g. vagrant up --provider=libvirt (one machine at a time)
#        scripts/image/vagrant-lab.sh drill           the failover drill (drill:ssh) against the machines that are up
#        scripts/image/vagrant-lab.sh deploy [ARGS]   rolling deploy (npm run deploy) of packer/output/app onto n1-n3
#        scripts/image/vagrant-lab.sh stop            destroys the machines, stops the daemons, removes the netns
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ns=ballast-vagrant
state=$root/packer/output/vagrant-lab
box=$root/packer/output/image-vagrant/ballast-libvirt.box
export VAGRANT_HOME=$state/home
export BALLAST_LIBVIRT_DRIVER=${BALLAST_LIBVIRT_DRIVER:-qemu}
# vagrant-libvirt's parallel `up` of six machines hung here (libvirt's capability probes left defunct);
# one machine at a time came up every time.
export VAGRANT_NO_PARALLEL=${VAGRANT_NO_PARALLEL:-1}
# Lab addresses only (198.18.0.0/15), for the private network and for vagrant-libvirt's own NAT network.
export BALLAST_NET=${BALLAST_NET:-198.18.56}
export BALLAST_MGMT_NET=${BALLAST_MGMT_NET:-198.18.121.0/24}
log() { printf 'vagrant-lab: %s\n' "$*" >&2; }

in_ns() { ip netns exec "$ns" "$@"; }
# Vagrant gives each machine its own key (.vagrant/machines/NAME/libvirt/private_key).
keys() {
  local list="" m
  for m in "$@"; do list+="${list:+,}$m=$root/.vagrant/machines/$m/libvirt/private_key"; done
  echo "$list"
}
nodes="n1=vagrant@$BALLAST_NET.11,n2=vagrant@$BALLAST_NET.12,n3=vagrant@$BALLAST_NET.13"

case "${1:-}" in
  start)
    bash "$root/scripts/image/install-deps.sh" vagrant vagrant-libvirt
    mkdir -p "$state"
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    for d in virtlogd libvirtd; do
      if [ -f "$state/$d.pid" ] && kill -0 "$(cat "$state/$d.pid")" 2>/dev/null; then continue; fi
      in_ns "$d" -d -p "$state/$d.pid"
    done
    for _ in $(seq 1 30); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 1; done
    [ -S /run/libvirt/libvirt-sock ] || { log "libvirtd did not open its socket"; exit 1; }
    # Always the box as built last (vagrant-libvirt uploads it into the pool under a new name per add).
    [ -f "$box" ] || { log "no box at $box: IMAGE_VAGRANT_BOX=only npm run image"; exit 1; }
    vagrant box add --force --name ballast "$box"
    log "ready: scripts/image/vagrant-lab.sh vagrant up n1 --provider=libvirt"
    ;;
  vagrant)
    shift
    cd "$root"
    in_ns vagrant "$@"
    ;;
  drill)
    cd "$root"
    in_ns node --import tsx scripts/failover-drill/main.ts --nodes "$nodes" \
      --client "c1=vagrant@$BALLAST_NET.31" --url "http://$BALLAST_NET.100:8080/" --key "$(keys n1 n2 n3 c1)" --sudo
    ;;
  deploy)
    # The release as scripts/image/app.sh last made it (packer/output/app), rolled onto n1-n3.
    shift
    cd "$root"
    in_ns node --import tsx scripts/deploy/main.ts --hosts "$nodes" --key "$(keys n1 n2 n3)" --sudo "$@"
    ;;
  stop)
    (cd "$root" && in_ns vagrant destroy -f) || true
    # The uploaded copies of the box in libvirt's pool.
    for vol in $(in_ns virsh -c qemu:///system vol-list default 2>/dev/null | awk '/ballast_vagrant_box/ {print $1}'); do
      in_ns virsh -c qemu:///system vol-delete --pool default "$vol" >/dev/null || true
    done
    for d in libvirtd virtlogd; do
      if [ -f "$state/$d.pid" ]; then kill "$(cat "$state/$d.pid")" 2>/dev/null || true; rm -f "$state/$d.pid"; fi
    done
    ip netns del "$ns" 2>/dev/null || true
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
