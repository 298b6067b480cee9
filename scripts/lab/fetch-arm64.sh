#!/usr/bin/env bash
# Unpacks what an ARM64 lab machine boots into a sysroot: Debian's arm64 kernel (with its modules), a static arm64
# busybox, and the signed network grub (grubnetaa64.efi). The packages are downloaded with a private apt state
# (APT::Architecture=arm64, lists under the cache dir), so the host's dpkg architectures and apt lists stay as they are.
# Usage: scripts/lab/fetch-arm64.sh [SYSROOT]   (default /var/cache/provisioner-lab/arm64; idempotent, ~62 MB)
# Then: scripts/lab/build-test-initrd.sh OUT_DIR SYSROOT
set -euo pipefail
root=${1:-/var/cache/provisioner-lab/arm64}
work="$root.apt"
stamp="$root/.complete"
[ -f "$stamp" ] && { echo "$root: already unpacked"; exit 0; }

mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$root"
apt=(-q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
timeout 600 apt-get "${apt[@]}" update >/dev/null
kernel=$(apt-cache "${apt[@]}" depends linux-image-arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)$/\1/p' | head -1)
[ -n "$kernel" ] || { echo "no arm64 kernel package found" >&2; exit 1; }
(cd "$work" && rm -f ./*.deb && timeout 600 apt-get "${apt[@]}" download "$kernel" busybox-static grub-efi-arm64-signed >/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
# The package's postinst would run depmod; without modules.dep modinfo cannot find a module.
version=$(ls "$root/lib/modules" | head -1)
depmod -b "$root" "$version"
touch "$stamp"
echo "$root: $(ls "$root"/boot/vmlinuz-*), $(ls "$root"/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed)"
