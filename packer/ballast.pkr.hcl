# The Ballast appliance image: Debian 12 + Node.js + Ballast under /opt/ballast as a systemd service,
# configured at first boot from its seed (NoCloud user-data or a config drive), so one image serves every
# node of a cluster. From the debootstrap disk (the default), scripts/image/base.sh has already installed
# everything natively: the emulated VM only boots, proves the install on a running system (verify.sh)
# and forgets the build's identity (cleanup.sh). From Debian's cloud image, install.sh runs in the VM.
#
# Written for Debian's packer 1.6.6 (HCL2 without `packer init` or `required_plugins`; the qemu builder
# and the vagrant post-processor are built in). `npm run image` (scripts/image/build.sh) stages the
# inputs and runs it; by hand:
#
#   packer build -only=qemu.ballast -var base_image=/abs/base.qcow2 -var app_tarball=/abs/app.tar.gz \
#     -var node_binary=$(command -v node) -var seed_dir=/abs/seed -var ssh_private_key_file=/abs/key \
#     packer/ballast.pkr.hcl

variable "source_image" {
  type        = string
  default     = "debootstrap"
  description = "debootstrap: the disk made by scripts/image/base.sh (no internet needed). debian-cloud: Debian's official genericcloud qcow2, downloaded (needs internet)."
}

variable "base_image" {
  type        = string
  default     = "packer/output/base/base.qcow2"
  description = "Path of the debootstrap base disk (source_image = debootstrap). Use an absolute path."
}

variable "debian_cloud_url" {
  type    = string
  default = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
}

variable "debian_cloud_checksum" {
  type    = string
  default = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "qemu accelerator: tcg (software, works everywhere) or kvm where /dev/kvm really runs guests."
}

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type    = number
  default = 1024
}

variable "disk_size" {
  type        = string
  default     = "3072M"
  description = "Virtual size of the image; cloud-init grows the root filesystem to whatever disk a VM gets."
}

variable "app_tarball" {
  type        = string
  description = "Ballast staged as installed (dist + bin + package.json + production node_modules): scripts/image/app.sh."
}

variable "node_binary" {
  type        = string
  description = "A Node.js 20+ executable for linux-x64 (glibc), installed as /usr/local/bin/node."
}

variable "seed_dir" {
  type        = string
  description = "Directory with the build's NoCloud seed (user-data, meta-data) authorizing ssh_private_key_file's public key for root."
}

variable "ssh_private_key_file" {
  type        = string
  description = "The build's throwaway SSH key; its public half is in the seed and removed from the image at the end."
}

variable "output_dir" {
  type    = string
  default = "packer/output/image"
}

variable "vm_name" {
  type    = string
  default = "ballast.qcow2"
}

variable "boot_wait_timeout" {
  type        = string
  default     = "15m"
  description = "How long packer waits for SSH: a TCG boot of the debootstrap disk takes about a minute here."
}

locals {
  from_cloud = var.source_image == "debian-cloud"
  iso_url    = local.from_cloud ? var.debian_cloud_url : var.base_image
  checksum   = local.from_cloud ? var.debian_cloud_checksum : "none"
  # The debootstrap base installs nothing from the network: the guest gets no route out at all.
  # Debian's cloud image lacks arping, which install.sh fetches with apt.
  restrict = local.from_cloud ? "off" : "on"
  netdev   = "user,id=user.0,restrict=${local.restrict},hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"
  # The debootstrap disk has Ballast installed already (base.sh, natively): nothing big crosses SSH.
  uploads = local.from_cloud ? [
    var.app_tarball,
    var.node_binary,
    "${path.root}/files/ballast.service",
    "${path.root}/files/60-ballast.conf",
    "${path.root}/files/ballast.yaml.example",
  ] : ["${path.root}/files/ballast.service"]
  install = local.from_cloud ? "${path.root}/provision/install.sh" : "${path.root}/provision/verify.sh"
}

source "qemu" "ballast" {
  iso_url          = local.iso_url
  iso_checksum     = local.checksum
  disk_image       = true
  use_backing_file = false
  format           = "qcow2"
  disk_size        = var.disk_size
  disk_interface   = "virtio"
  disk_discard     = "unmap"
  disk_compression = true
  net_device       = "virtio-net"
  accelerator      = var.accelerator
  cpus             = var.cpus
  memory           = var.memory
  headless         = true
  vnc_bind_address = "127.0.0.1"
  boot_wait        = "1s"
  # The seed that lets packer in: root's authorized key, nothing else. cleanup.sh removes it from the image.
  cd_files = ["${var.seed_dir}/user-data", "${var.seed_dir}/meta-data"]
  cd_label = "cidata"
  qemuargs = [
    ["-netdev", local.netdev],
    ["-serial", "file:${var.output_dir}-serial.log"],
  ]
  communicator           = "ssh"
  ssh_username           = "root"
  ssh_private_key_file   = var.ssh_private_key_file
  host_port_min          = 2222
  host_port_max          = 4444
  ssh_timeout            = var.boot_wait_timeout
  ssh_handshake_attempts = 100
  shutdown_command       = "shutdown -P now"
  shutdown_timeout       = "5m"
  vm_name                = var.vm_name
  # output_directory is set per flavour in the build block.
}

build {
  description = "Ballast appliance: Debian 12, Node.js, /opt/ballast, ballast.service, first-boot config from the seed."

  # The appliance image: packer build -only=qemu.ballast
  source "source.qemu.ballast" {
    name             = "ballast"
    output_directory = var.output_dir
  }

  # The same image plus a `vagrant` user, packed as a libvirt box: packer build -only=qemu.vagrant
  source "source.qemu.ballast" {
    name             = "vagrant"
    output_directory = "${var.output_dir}-vagrant"
  }

  provisioner "shell" {
    inline = ["mkdir -p /tmp/ballast-upload"]
  }

  provisioner "file" {
    sources     = local.uploads
    destination = "/tmp/ballast-upload/"
  }

  # The tarball and node keep their names on upload only when named so: normalize them.
  provisioner "shell" {
    inline = [
      "cd /tmp/ballast-upload",
      "mv -f '${basename(var.app_tarball)}' ballast-app.tar.gz 2>/dev/null || true",
      "mv -f '${basename(var.node_binary)}' node 2>/dev/null || true",
    ]
  }

  provisioner "shell" {
    script = local.install
  }

  provisioner "shell" {
    only   = ["qemu.vagrant"]
    script = "${path.root}/provision/vagrant-user.sh"
  }

  provisioner "shell" {
    script = "${path.root}/provision/cleanup.sh"
  }

  post-processor "vagrant" {
    only                 = ["qemu.vagrant"]
    output               = "${var.output_dir}-vagrant/ballast-libvirt.box"
    provider_override    = "libvirt"
    keep_input_artifact  = true
    compression_level    = 6
    vagrantfile_template = "${path.root}/files/box.Vagrantfile"
  }
}
