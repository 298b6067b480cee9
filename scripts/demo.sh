#!/usr/bin/env bash
# Provisioner's main job, end to end, on the embedded default (one node, both roles, SQLite):
# a virtual machine (qemu, SeaBIOS with QEMU's iPXE ROM) powers on in a private network namespace, PXE-boots
# through `provisioner serve` (DHCP → HTTP boot script → kernel + initrd → kickstart → phone-home → reboot →
# sent to its local disk), and the machine's journey is printed with `provisioner machine show`.
# Installs what is missing, touches no real interface, and removes everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces, a tap device); try: sudo $0" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "demo: the .NET SDK 10 is required (dotnet not on PATH)" >&2; exit 1; }
{ command -v qemu-system-x86_64 && [ -e /usr/lib/ipxe/undionly.kpxe ] && [ -x /bin/busybox ] && ls /boot/vmlinuz-*; } >/dev/null 2>&1 || scripts/setup.sh

mac=${DEMO_MAC:-52:54:00:de:00:01}
ns=pvdemo$$
work=$(mktemp -d /tmp/provisioner-demo.XXXXXX)
out=artifacts/demo
node_pid=""; vm_pid=""
cleanup() {
  [ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null || true
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building provisioner and the demo installer"
dotnet publish src/Provisioner.Host -c Release -nologo -v quiet -o "$out" >/dev/null
scripts/lab/build-test-initrd.sh "$work/assets/lab" >/dev/null
provisioner() { ip netns exec "$ns" dotnet "$out/provisioner.dll" "$@"; }

# The lab profile: Debian's kernel and a busybox initrd that fetches its kickstart and phones home.
mkdir -p "$work/data"
cp -r scripts/lab/config "$work/config"
cat >"$work/demo.conf" <<CONF
provisioner {
  persistence.data-dir = "$work/data"
  node.port = 0
  admin.listen = "http://127.0.0.1:9780"
  edge {
    interface = br0
    address = "10.77.0.1"
    config-dir = "$work/config"
    dhcp {
      enabled = on
      subnets = [ { id = demo, network = "10.77.0.0/24", pool-start = "10.77.0.100", pool-end = "10.77.0.199", router = "10.77.0.1", lease-time = 1h } ]
    }
    ipv6.answer-router-solicitations = on
    tftp { enabled = on, root = "$work/tftp" }
    http { enabled = on, listen = "http://10.77.0.1:8080", assets = "$work/assets" }
  }
}
CONF

echo "== private network: namespace $ns, bridge br0 10.77.0.1/24, tap for the VM"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.77.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" tuntap add dev tapdemo mode tap
ip -n "$ns" link set tapdemo master br0 up

echo "== provisioner serve (log: $work/serve.log)"
ip netns exec "$ns" dotnet "$out/provisioner.dll" serve --hocon-dir hocon --config "$work/demo.conf" >"$work/serve.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do
  ip netns exec "$ns" curl -fsS http://127.0.0.1:9780/healthz >/dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done

echo "== powering on VM $mac (qemu TCG, SeaBIOS + iPXE ROM); serial log: $work/serial.log"
printf '\xf8\x03\x00\x00\x00\x00\x00\x00' >"$work/sercon"
start=$(date +%s)
ip netns exec "$ns" qemu-system-x86_64 -machine accel=tcg -m 768 -display none -monitor none \
  -serial "file:$work/serial.log" -fw_cfg name=etc/sercon-port,file="$work/sercon" \
  -netdev tap,id=n0,ifname=tapdemo,script=no,downscript=no -device "virtio-net-pci,netdev=n0,mac=$mac" -boot n \
  2>"$work/qemu.log" &
vm_pid=$!

stage=""; shown=""
for _ in $(seq 1 240); do
  stage=$(provisioner machine show "$mac" -o json --server http://127.0.0.1:9780 2>/dev/null | sed -n 's/.*"stage": *"\([A-Za-z]*\)".*/\1/p' | head -1) || true
  if [ -n "$stage" ] && [ "$stage" != "$shown" ]; then
    printf '   %3ss  %s\n' "$(( $(date +%s) - start ))" "$stage"
    shown=$stage
  fi
  [ "$stage" = "Rebooted" ] && break
  kill -0 "$vm_pid" 2>/dev/null || break
  sleep 1
done
echo
echo "\$ provisioner machine show $mac"
provisioner machine show "$mac" --server http://127.0.0.1:9780
echo
if [ "$stage" = "Rebooted" ]; then
  echo "== done: power-on → installed → rebooted to local disk in $(( $(date +%s) - start )) s"
else
  echo "== the VM did not finish (stage: ${stage:-unknown}); last serial output:" >&2
  tail -c 2000 "$work/serial.log" >&2 || true
  exit 1
fi
