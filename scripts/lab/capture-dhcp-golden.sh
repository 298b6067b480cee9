#!/usr/bin/env bash
# Re-creates the DHCPv4 golden captures used by tests/Provisioner.Protocols.Tests/Dhcp.
# Not run by the tests (they read the committed .pcap files); run by hand as root:
#   scripts/lab/capture-dhcp-golden.sh [output-dir] [all|ns|qemu|arm64]
#
# Network safety: nothing here touches a real interface or the root namespace's addresses.
#  * udhcpc / dhclient run inside a private network namespace (dhcpcap-a) joined by a veth pair to a
#    second private namespace (dhcpcap-b) where tcpdump listens and Kea answers on 192.0.2.0/24
#    (TEST-NET-1, never routed). Both namespaces are deleted on exit.
#  * iPXE and EDK2 run in QEMU with user-mode (slirp) networking: the guest's packets never leave the
#    QEMU process; a filter-dump object writes them to a pcap. Slirp's built-in DHCP server answers.
# Every wait is bounded by `timeout`; only processes started here are stopped, by PID.
#
# A new run draws new xids and timestamps: after replacing the committed captures, regenerate the
# annotated bytes in tests/Provisioner.Protocols.Tests/Dhcp/DhcpGoldenPackets.cs (the test
# Embedded_bytes_are_the_captured_bytes fails until they match). Takes about 7 minutes (QEMU under TCG).
set -euo pipefail

out="${1:-$(cd "$(dirname "$0")/../.." && pwd)/tests/Provisioner.Protocols.Tests/Golden}"
stage="${2:-all}"
work=/tmp/dhcpcap
ns_client=dhcpcap-a
ns_server=dhcpcap-b
mkdir -p "$out" "$work"

[ "$(id -u)" -eq 0 ] || { echo "must run as root (network namespaces)" >&2; exit 1; }

pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  ip netns del "$ns_client" 2>/dev/null || true
  ip netns del "$ns_server" 2>/dev/null || true
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Lab: two namespaces and a veth pair. The MAC of the client side is fixed so captures are stable.
# ---------------------------------------------------------------------------------------------
make_lab() {
  cleanup
  ip netns add "$ns_client"
  ip netns add "$ns_server"
  ip link add dcap-a netns "$ns_client" type veth peer name dcap-b netns "$ns_server"
  ip -n "$ns_client" link set dcap-a address 52:54:00:dc:00:01
  ip -n "$ns_server" link set dcap-b address 52:54:00:dc:00:02
  ip -n "$ns_client" link set lo up
  ip -n "$ns_server" link set lo up
  ip -n "$ns_client" link set dcap-a up
  ip -n "$ns_server" addr add 192.0.2.1/24 dev dcap-b
  ip -n "$ns_server" link set dcap-b up
  # Kea refuses an interface that is not running yet; a fresh veth needs a moment for carrier.
  for _ in $(seq 1 50); do
    [ "$(ip netns exec "$ns_server" cat /sys/class/net/dcap-b/operstate)" = up ] && break
    sleep 0.1
  done
}

start_kea() {
  cat >"$work/kea-dhcp4.json" <<'JSON'
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "dcap-b" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": false },
    "valid-lifetime": 600,
    "renew-timer": 300,
    "rebind-timer": 525,
    "next-server": "192.0.2.1",
    "boot-file-name": "undionly.kpxe",
    "subnet4": [ {
      "id": 1,
      "subnet": "192.0.2.0/24",
      "pools": [ { "pool": "192.0.2.100 - 192.0.2.150" } ],
      "option-data": [
        { "name": "routers", "data": "192.0.2.1" },
        { "name": "domain-name-servers", "data": "192.0.2.1" },
        { "name": "domain-name", "data": "lab.test" }
      ]
    } ],
    "loggers": [ {
      "name": "kea-dhcp4",
      "output_options": [ { "output": "/tmp/dhcpcap/kea.log" } ],
      "severity": "INFO"
    } ]
  }
}
JSON
  KEA_PIDFILE_DIR="$work" KEA_LOCKFILE_DIR="$work" \
    ip netns exec "$ns_server" kea-dhcp4 -c "$work/kea-dhcp4.json" >"$work/kea.out" 2>&1 &
  kea_pid=$!
  pids+=("$kea_pid")
  sleep 2
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# capture NAME COUNT COMMAND...: tcpdump in the server namespace while COMMAND runs in the client one.
capture_ns() {
  local name=$1 count=$2; shift 2
  rm -f "$out/$name.pcap"
  timeout 30 ip netns exec "$ns_server" tcpdump -i dcap-b -U -n -c "$count" \
    -w "$out/$name.pcap" 'udp and (port 67 or port 68)' 2>"$work/$name.tcpdump.log" &
  local tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  sleep 2
  ip netns exec "$ns_client" "$@" >"$work/$name.client.log" 2>&1 || true
  timeout 5 tail --pid="$tcpdump_pid" -f /dev/null || stop_pid "$tcpdump_pid"
  echo "$name: $(cat "$work/$name.tcpdump.log" | tail -n 2 | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
# 1. udhcpc (BusyBox) and dhclient (ISC) against Kea: DISCOVER, OFFER, REQUEST, ACK.
# ---------------------------------------------------------------------------------------------
if [ "$stage" = all ] || [ "$stage" = ns ]; then
make_lab
start_kea
capture_ns dhcp-udhcpc-kea 4 timeout 10 udhcpc -f -i dcap-a -n -q -t 3 -T 2 -s /bin/true
rm -f "$work/dhclient.leases"
capture_ns dhcp-dhclient-kea 4 timeout 10 dhclient -1 -d -sf /bin/true \
  -lf "$work/dhclient.leases" -pf "$work/dhclient.pid" dcap-a
stop_pid "$kea_pid"
cleanup
fi

# ---------------------------------------------------------------------------------------------
# 2. Firmware clients in QEMU, user-mode networking only.
# ---------------------------------------------------------------------------------------------
qemu_capture() {
  local name=$1 seconds=$2; shift 2
  local qemu=qemu-system-x86_64 machine=accel=tcg
  if [ "$1" = --arm64 ]; then qemu=qemu-system-aarch64 machine=virt,accel=tcg; shift; fi
  rm -f "$work/$name.raw.pcap"
  # Slirp offers a boot file from an empty TFTP root, so the clients go on to REQUEST (and fail the
  # download at once); the fixed UUID makes option 97 recognisable.
  mkdir -p "$work/tftp"
  timeout "$seconds" "$qemu" -machine "$machine" -m 256 -display none -serial none \
    -monitor none -no-reboot \
    -uuid 01234567-89ab-cdef-0123-456789abcdef \
    -netdev user,id=n0,tftp="$work/tftp",bootfile=boot.missing \
    -object filter-dump,id=f0,netdev=n0,file="$work/$name.raw.pcap" \
    "$@" </dev/null >"$work/$name.qemu.log" 2>&1 || true
  # Keep only DHCP (slirp also carries ARP, TFTP, DNS...).
  tcpdump -n -r "$work/$name.raw.pcap" -w "$out/$name.pcap" 'udp and (port 67 or port 68)' 2>/dev/null
  echo "$name: $(tcpdump -n -r "$out/$name.pcap" 2>/dev/null | wc -l) DHCP packets"
}

if [ "$stage" = all ] || [ "$stage" = qemu ]; then
# iPXE option ROM (BIOS build) under SeaBIOS.
qemu_capture dhcp-ipxe-bios-slirp 60 -boot n -device virtio-net-pci,netdev=n0,mac=52:54:00:dc:00:11
# EDK2's own PXE client: OVMF, iPXE ROM disabled by an empty romfile.
qemu_capture dhcp-edk2-pxe-slirp 150 -bios /usr/share/ovmf/OVMF.fd \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:dc:00:12,romfile=
# iPXE EFI driver (from the same ROM) under OVMF; OVMF then also tries its own PXE and HTTP boot
# over iPXE's SNP, so this capture holds three clients.
qemu_capture dhcp-ovmf-ipxe-efi-slirp 150 -bios /usr/share/ovmf/OVMF.fd \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:dc:00:13
fi

# ARM64 UEFI: EDK2's own PXE and then its HTTP boot (ArmVirtQemu, Debian's qemu-efi-aarch64), on QEMU's virt board.
# Needs qemu-system-arm and qemu-efi-aarch64, which the tests do not (they read the capture).
if [ "$stage" = all ] || [ "$stage" = arm64 ]; then
qemu_capture dhcp-aavmf-pxe-slirp 240 --arm64 -cpu cortex-a57 -bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:dc:00:14,romfile=
fi

ls -l "$out"/dhcp-*.pcap
