#!/usr/bin/env bash
# One-time dependencies for Provisioner and its tests. Idempotent: safe to run again.
# Installs every Debian package the project, its lab tests (namespaces, qemu, real DHCP/TFTP clients)
# and its benchmarks use, then restores NuGet packages.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # network-boot payloads and a virtual machine to boot them
  ipxe qemu-system-x86 ipxe-qemu ovmf busybox-static linux-image-amd64 cpio
  # an ARM64 UEFI machine under TCG (its kernel, busybox and GRUB: scripts/lab/fetch-arm64.sh below)
  qemu-system-arm qemu-efi-aarch64 kmod
  # real DHCP / TFTP / HTTP peers
  isc-dhcp-client udhcpc isc-dhcp-relay tftp-hpa atftp curl kea-dhcp4-server kea-admin
  # lab plumbing and diagnostics
  iproute2 iputils-ping tcpdump procps
  # cluster journal for multi-node tests
  postgresql
  # systemd-analyze verifies deploy/systemd's unit (DeployFilesTests); nothing is started
  systemd
  # benchmarks (jq reads the admin API's JSON in cluster.sh and dhcp-cpu.sh; perf: dhcp-cpu.sh BENCH_DHCP_PERF)
  nginx wrk dnsmasq-base jq linux-perf
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  # Services shipped by these packages (kea, nginx, postgresql, tftpd) must not start on real interfaces:
  # policy-rc.d 101 keeps dpkg from starting them; tests start what they need inside namespaces.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
else
  echo "setup: all Debian packages present"
fi

# Secure Boot chain (profile key boot-chain = shim): Debian's signed shim and signed network GRUB. Taken from the
# .debs, not installed: on a host booted with EFI, the postinst of shim-signed / grub-efi-amd64-signed runs
# grub-install against the host's own boot setup (and pulls grub-efi-amd64-bin, mokutil); the lab only needs two files.
# Unpacked under /opt/provisioner/secureboot with the packages' layout; the lab points
# provisioner.edge.tftp.secure-boot.{shim,grub} there. A server may instead install the packages (the defaults are
# their paths, /usr/lib/shim/shimx64.efi.signed and /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed).
secureboot=/opt/provisioner/secureboot
if [ ! -e "$secureboot/usr/lib/shim/shimx64.efi.signed" ] || [ ! -e "$secureboot/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed" ]; then
  echo "setup: unpacking shim-signed and grub-efi-amd64-signed into $secureboot"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  debs=$(mktemp -d)
  (cd "$debs" && apt-get download shim-signed grub-efi-amd64-signed)
  $SUDO mkdir -p "$secureboot"
  for deb in "$debs"/*.deb; do $SUDO dpkg-deb -x "$deb" "$secureboot"; done
  rm -rf "$debs"
fi

# The ARM64 lab machine's kernel, busybox and network GRUB, unpacked from Debian's arm64 packages with a private apt
# state (the host's architectures and lists are left alone): ~62 MB, once.
scripts/lab/fetch-arm64.sh /var/cache/provisioner-lab/arm64

if [ -f Provisioner.sln ]; then
  dotnet restore Provisioner.sln
fi
