#!/usr/bin/env bash
# The image's CI checks that need no VM: packer fmt and validate of the template (with stand-in inputs),
# ShellCheck on every shell script, and `vagrant validate -p` of the Vagrantfile (when vagrant is installed).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

packer fmt -check -diff packer/ballast.pkr.hcl
: >"$tmp/user-data"
: >"$tmp/meta-data"
: >"$tmp/app.tar.gz"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/key"
CHECKPOINT_DISABLE=1 packer validate \
  -var "app_tarball=$tmp/app.tar.gz" -var "node_binary=$(readlink -f "$(command -v node)")" \
  -var "seed_dir=$tmp" -var "ssh_private_key_file=$tmp/key" -var "output_dir=$tmp/image" \
  -var "base_image=$tmp/base.qcow2" packer/ballast.pkr.hcl
echo "packer: ok"

mapfile -t scripts < <({ find scripts packer -name '*.sh' -not -path 'packer/output/*'; echo bin/ballast-release-vip; } | sort)
shellcheck "${scripts[@]}"
echo "shellcheck: ok (${#scripts[@]} scripts)"

if command -v vagrant >/dev/null 2>&1; then
  vagrant validate -p
else
  echo "vagrant: not installed (scripts/image/install-deps.sh vagrant), Vagrantfile not validated"
fi

# What the provisioner writes must be a config the node accepts: render each node's ballast.yaml from
# the Vagrantfile (both Raft timer sets) and run it through `ballast check`, as `vagrant validate` cannot.
if command -v ruby >/dev/null 2>&1; then
  for driver in kvm qemu; do
    for id in n1 n2 n3; do
      out=$tmp/vagrant-$driver-$id.yaml
      BALLAST_LIBVIRT_DRIVER=$driver ruby -e 'module Vagrant; def self.configure(*); end; end
        load ARGV[0]; print ballast_config(ARGV[1], NODES.fetch(ARGV[1]))' "$root/Vagrantfile" "$id" >"$out"
      node --import tsx cli/ballast.ts check --config "$out" >/dev/null
    done
  done
  echo "vagrant provisioner configs: ok (ballast check, 3 nodes x 2 timer sets)"
fi
