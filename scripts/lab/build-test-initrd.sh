#!/usr/bin/env bash
# Builds the tiny "installer" the lab boots under qemu: Debian's kernel plus a busybox initrd whose init
# brings up the NIC, takes a DHCP lease, fetches the kickstart named by ks= on the kernel command line, phones
# home with the phone-home URL found in that kickstart (what %post does in a real install), then reboots.
# Usage: scripts/lab/build-test-initrd.sh OUT_DIR [SYSROOT]   → OUT_DIR/vmlinuz, OUT_DIR/initrd.img
# SYSROOT (default /) is where the kernel (boot/vmlinuz-*), its modules and a static busybox (bin/busybox) are taken
# from: the host's own, or another architecture's unpacked by scripts/lab/fetch-arm64.sh.
set -euo pipefail
out=${1:?usage: build-test-initrd.sh OUT_DIR [SYSROOT]}
sysroot=${2:-/}
sysroot=${sysroot%/}
mkdir -p "$out"

kernel=$(ls -1 "$sysroot"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "no kernel in $sysroot/boot (install linux-image-amd64: scripts/setup.sh)" >&2; exit 1; }
version=${kernel#"$sysroot"/boot/vmlinuz-}
[ -x "$sysroot/bin/busybox" ] && file "$sysroot/bin/busybox" | grep -q 'statically linked' || { echo "static busybox missing in $sysroot/bin (busybox-static)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,tmp,modules,etc,usr/share/udhcpc}
cp "$sysroot/bin/busybox" "$root/bin/busybox"

# Debian builds virtio_net and e1000 as modules; load them in dependency order.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net e1000)
for m in "${modules[@]}"; do
  f=$(modinfo -b "${sysroot:-/}" -k "$version" -F filename "$m" 2>/dev/null || true)
  [ -z "$f" ] || [ -z "$sysroot" ] || [ "${f#"$sysroot"}" != "$f" ] || f="$sysroot$f"
  [ -n "$f" ] && [ -f "$f" ] || continue          # built in, or absent in this kernel
  case "$f" in
    *.ko.xz) xz -dc "$f" >"$root/modules/$m.ko" ;;
    *.ko.zst) zstd -dqc "$f" >"$root/modules/$m.ko" ;;
    *) cp "$f" "$root/modules/$m.ko" ;;
  esac
  echo "$m" >>"$root/modules/order"
done

cat >"$root/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
    echo "lab-installer: lease $ip on $interface" ;;
esac
exit 0
SCRIPT
chmod +x "$root/usr/share/udhcpc/default.script"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "lab-installer: started, cmdline: $(cat /proc/cmdline)"
for m in $(cat /modules/order 2>/dev/null); do insmod "/modules/$m.ko" 2>/dev/null; done
sleep 1
nic=$(ls /sys/class/net | grep -v '^lo$' | head -1)
ip link set "$nic" up
udhcpc -i "$nic" -s /usr/share/udhcpc/default.script -n -q -t 10 -T 2 || { echo "lab-installer: FAILED no DHCP lease"; sleep 2; reboot -f; }
ip addr show "$nic" | grep inet; ip route
ks=$(sed -n 's/.*ks=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "lab-installer: fetching kickstart $ks"
# static busybox 1.35's wget -T segfaults: bound it with timeout instead.
timeout 30 wget -O /tmp/ks.cfg "$ks" || { echo "lab-installer: FAILED kickstart fetch"; sleep 2; reboot -f; }
phone=$(grep -o 'https\?://[^ "'"'"']*/phone-home/[^ "'"'"']*' /tmp/ks.cfg | head -1)
echo "lab-installer: phoning home $phone"
timeout 30 wget -q -O - "$phone" && echo "lab-installer: INSTALLED"
sync
echo "lab-installer: rebooting"
reboot -f
INIT
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img"
cp "$kernel" "$out/vmlinuz"
echo "built $out/vmlinuz ($version) and $out/initrd.img ($(stat -c %s "$out/initrd.img") bytes)"
