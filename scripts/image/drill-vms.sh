#!/usr/bin/env bash
# `npm run drill:vms`: the failover drill against the appliance image itself. Three VMs booted by qemu
# (TCG) from the built image, on taps joined by a bridge inside a network namespace with no route out;
# two backends and the client are namespaces on the same bridge. Only the namespaces themselves are
# created from the root namespace: no interface, address or route is added there. The drill runs inside
# the bridge's namespace (scripts/image/drill-vms.ts) and drives the VMs over SSH.
#
# Usage: scripts/image/drill-vms.sh [IMAGE]   (default packer/output/image/ballast.qcow2)
# Env:   DRILL_PREFIX  namespace prefix (default bvm); DRILL_REPORT  where the JSON report is copied
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
image=$(realpath "${1:-$root/packer/output/image/ballast.qcow2}")
p=${DRILL_PREFIX:-bvm}
sw=$p-sw
net=198.18.0
[ "$(id -u)" -eq 0 ] || { echo "drill:vms: needs root (namespaces, taps)" >&2; exit 1; }
[ -f "$image" ] || { echo "drill:vms: no image at $image (npm run image)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ballast-drill-vms.XXXXXX")

# shellcheck disable=SC2317 # run by the trap
cleanup() {
  # Our own processes only: qemu by its pid file, then whatever is left inside our namespaces.
  for f in "$work"/*.pid; do
    if [ -f "$f" ]; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
  done
  for ns in "$sw" "$p-b1" "$p-b2" "$p-c1"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # A failed drill keeps its logs (serial consoles, journals, report) for the post-mortem; the disks
  # only with DRILL_KEEP=1.
  if [ -n "${DRILL_KEEP:-}" ]; then
    echo "drill:vms: everything kept in $work" >&2
  elif [ "$status" -ne 0 ]; then
    rm -f "$work"/*/disk.qcow2 "$work"/*/seed.iso
    echo "drill:vms: failed; logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
status=1
trap cleanup EXIT INT TERM

# A left-over of an interrupted run would hold the names.
for ns in "$sw" "$p-b1" "$p-b2" "$p-c1"; do ip netns del "$ns" 2>/dev/null || true; done

ip netns add "$sw"
ip -n "$sw" link set lo up
ip -n "$sw" link add br0 type bridge
ip -n "$sw" addr add "$net.1/24" dev br0
ip -n "$sw" link set br0 up
for i in 1 2 3; do
  ip -n "$sw" tuntap add dev "tap$i" mode tap
  ip -n "$sw" link set "tap$i" master br0 up
done
for pair in b1:21 b2:22 c1:31; do
  name=${pair%%:*}
  ns=$p-$name
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name "v-$name" netns "$sw"
  ip -n "$ns" addr add "$net.${pair##*:}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$sw" link set "v-$name" master br0 up
done

status=0
ip netns exec "$sw" node --import tsx "$root/scripts/image/drill-vms.ts" --image "$image" --work "$work" --prefix "$p" || status=$?
if [ -n "${DRILL_REPORT:-}" ] && [ -f "$work/report.json" ]; then cp "$work/report.json" "$DRILL_REPORT"; fi
exit "$status"
