#!/usr/bin/env bash
# Makes a cloud-init NoCloud seed: an ISO 9660 volume labelled "cidata" holding user-data and meta-data
# (and network-config when given), which the appliance reads at first boot. One per VM.
#
# Usage: scripts/image/seed.sh OUTPUT.iso USER_DATA META_DATA [NETWORK_CONFIG]
set -euo pipefail
out=${1:?usage: seed.sh OUTPUT.iso USER_DATA META_DATA [NETWORK_CONFIG]}
user_data=${2:?user-data file}
meta_data=${3:?meta-data file}
network_config=${4:-}

iso_tool=$(command -v genisoimage || command -v mkisofs || command -v xorrisofs || true)
[ -n "$iso_tool" ] || { echo "seed: needs genisoimage (or mkisofs/xorrisofs)" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$user_data" "$dir/user-data"
cp "$meta_data" "$dir/meta-data"
if [ -n "$network_config" ]; then cp "$network_config" "$dir/network-config"; fi
"$iso_tool" -quiet -output "$out" -volid cidata -joliet -rock "$dir"
