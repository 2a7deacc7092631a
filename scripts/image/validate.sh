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
