#!/usr/bin/env bash
# `npm run image`: builds the Ballast appliance image end to end, offline but for Debian's mirror:
# app tarball (app.sh) -> disk with the OS (cached) and Ballast installed natively in a chroot (base.sh)
# -> packer qemu build (boot, verify, clean) -> packer/output/image/ballast.qcow2
#
# Env: IMAGE_ACCEL       qemu accelerator for packer: tcg (default) or kvm
#      IMAGE_REBUILD_BASE 1 = debootstrap and install the OS again even if the cached rootfs is current
#      IMAGE_VAGRANT_BOX  1 = also build the libvirt Vagrant box (packer/output/image-vagrant/ballast-libvirt.box),
#                        only = build just the box (one VM instead of two)
#      APP_REF           build Ballast from this git commit (e.g. HEAD) instead of the work tree
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/packer/output
accel=${IMAGE_ACCEL:-tcg}
log() { printf 'image: %s\n' "$*" >&2; }
t0=$(date +%s)
since() { echo $(($(date +%s) - $1)); }

bash "$root/scripts/image/install-deps.sh"
mkdir -p "$out"

# The OS rootfs (network and dpkg bound) and the app (CPU bound) do not depend on each other: side by side.
step=$(date +%s)
BASE_FRESH=${IMAGE_REBUILD_BASE:-0} BASE_OS_ONLY=1 bash "$root/scripts/image/base.sh" "$out/base/base.qcow2" &
os_pid=$!
bash "$root/scripts/image/app.sh" "$out/app/ballast-app.tar.gz" || { kill "$os_pid" 2>/dev/null; exit 1; }
app_s=$(since "$step")
wait "$os_pid" || { log "the OS stage failed"; exit 1; }
os_s=$(since "$step")

# What install.sh installs into the rootfs: the app, this machine's node, the units, the first-boot program.
upload=$out/upload
rm -rf "$upload"
mkdir -p "$upload"
cp "$out/app/ballast-app.tar.gz" "$upload/"
cp "$(readlink -f "$(command -v node)")" "$upload/node"
cp "$root"/packer/files/{ballast.service,60-ballast.conf,ballast.yaml.example,ballast-firstboot.service} "$root/packer/provision/install.sh" "$upload/"
# One file with yaml inside; yaml is CommonJS, so the ESM bundle needs a real `require` for Node's builtins.
"$root/node_modules/.bin/esbuild" "$root/scripts/image/firstboot/main.ts" --bundle --platform=node --format=esm \
  --target=node20 --log-level=warning --outfile="$upload/firstboot.mjs" \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"

step=$(date +%s)
APP_UPLOAD=$upload bash "$root/scripts/image/base.sh" "$out/base/base.qcow2"
rm -rf "$upload"
base_s=$(since "$step")

# The build's throwaway key: packer logs in as root with it; cleanup.sh removes it from the image.
build=$out/build
rm -rf "$build"
mkdir -p "$build"
ssh-keygen -q -t ed25519 -N '' -C ballast-image-build -f "$build/key"
cat >"$build/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$build/key.pub")
EOF
printf 'instance-id: ballast-image-build-%s\nlocal-hostname: ballast-build\n' "$t0" >"$build/meta-data"

only=qemu.ballast
case "${IMAGE_VAGRANT_BOX:-0}" in
  1) only=qemu.ballast,qemu.vagrant ;;
  only) only=qemu.vagrant ;;
esac

step=$(date +%s)
log "packer build -only=$only (accelerator $accel)"
export PACKER_CACHE_DIR=$out/packer-cache
export CHECKPOINT_DISABLE=1
set +e
(
  cd "$root"
  packer build -force -color=false -parallel-builds=1 -only="$only" \
    -var "accelerator=$accel" \
    -var "base_image=$out/base/base.qcow2" \
    -var "app_tarball=$out/app/ballast-app.tar.gz" \
    -var "node_binary=$(readlink -f "$(command -v node)")" \
    -var "seed_dir=$build" \
    -var "ssh_private_key_file=$build/key" \
    -var "output_dir=$out/image" \
    packer/ballast.pkr.hcl
) 2>&1 | while IFS= read -r line; do printf '%(%H:%M:%S)T %s\n' -1 "$line"; done >"$out/packer.log"
rc=${PIPESTATUS[0]}
set -e
# Each packer line carries the time it was seen: where the packer minutes go is in the log itself.
if [ "$rc" -ne 0 ]; then tail -n 40 "$out/packer.log" >&2; log "packer failed: $out/packer.log"; exit 1; fi
packer_s=$(since "$step")
rm -rf "$build"

if [ "$only" = qemu.vagrant ]; then
  box=$out/image-vagrant/ballast-libvirt.box
  [ -f "$box" ] || { log "packer produced no $box"; exit 1; }
  log "wrote $box: $(($(stat -c %s "$box") / 1048576)) MiB in $(since "$t0") s (app ${app_s} s, base ${base_s} s, packer ${packer_s} s)"
  exit 0
fi
image=$out/image/ballast.qcow2
[ -f "$image" ] || { log "packer produced no $image"; exit 1; }
size_bytes=$(stat -c %s "$image")
virtual=$(qemu-img info --output=json "$image" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)["virtual-size"]))')
cat >"$out/image/build.json" <<EOF
{"image":"$image","bytes":$size_bytes,"virtualBytes":$virtual,"seconds":{"app":$app_s,"osAndApp":$os_s,"base":$base_s,"packer":$packer_s,"total":$(since "$t0")},"accelerator":"$accel","app":"$(tar -xzOf "$out/app/ballast-app.tar.gz" ./VERSION | tr -d '\n')"}
EOF
log "wrote $image: $((size_bytes / 1048576)) MiB ($((virtual / 1048576)) MiB virtual) in $(since "$t0") s (OS and app side by side ${os_s} s (app ${app_s} s), app into the disk ${base_s} s, packer ${packer_s} s)"
if [ "${IMAGE_VAGRANT_BOX:-0}" = 1 ]; then log "box: $out/image-vagrant/ballast-libvirt.box ($(($(stat -c %s "$out/image-vagrant/ballast-libvirt.box") / 1048576)) MiB)"; fi
