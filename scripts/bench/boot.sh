#!/usr/bin/env bash
# End-to-end boot time and memory of `provisioner serve`, one run.
#
#   scripts/bench/boot.sh [BOOTS_EACH]      (default 2 BIOS + 2 UEFI; about 4 min)
#
# Memory and idle CPU: RSS (VmRSS of the dotnet process) of an idle node 20 s after /healthz answers and its CPU
# time over the last 15 s of that, first with no edge service (core only, as `provisioner serve` runs by default),
# then with DHCP + TFTP + HTTP on br0; RSS again after the boots.
# Boots: as scripts/demo.sh and the lab tests do: qemu (TCG, 768 MB) on a tap device on br0 in namespace
# pvb-boot-srv (10.78.34.1/24), the busybox "installer" from scripts/lab/build-test-initrd.sh, one node for
# every boot, a new MAC per boot. BIOS = SeaBIOS + QEMU's iPXE ROM; UEFI = OVMF with no option ROM
# (edk2's own PXE, then TFTP ipxe.efi, then iPXE). Reported: power-on (qemu started) → stage Rebooted, seconds,
# polled once a second over the admin API (curl, no CLI start-up on the way).
# Nothing touches a real interface; the namespace and tap devices are created and deleted by name.
source "$(dirname "$0")/lib.sh"

boots=${1:-2}
bench_init boot 34
for tool in qemu-system-x86_64 curl timeout; do command -v "$tool" >/dev/null || { echo "boot bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
[ -e /usr/share/ovmf/OVMF.fd ] && [ -e /usr/lib/ipxe/undionly.kpxe ] || { echo "boot bench: ovmf/ipxe missing (scripts/setup.sh)" >&2; exit 1; }
build_provisioner

rm -rf "$work"; mkdir -p "$work/data" "$work/config/profiles" "$work/assets" "$work/tftp" "$work/bare"
"$bench_root/scripts/lab/build-test-initrd.sh" "$work/assets/lab" >/dev/null
cat >"$work/config/profiles/lab.profile" <<'PROFILE'
description = bench installer (busybox initrd standing in for anaconda)
kernel = lab/vmlinuz
initrd = lab/initrd.img
kernel-args = console=ttyS0 quiet panic=5
repo-url = http://example.invalid/centos/7.9/os/x86_64
kickstart = lab.ks
root-password-hash = $6$lab$C9.3HzYDgSIw0hSVe5l2vOv2RdHcwJpR8HbtGxuhcVZU3xuxDxh5TrCpZuJ.r4o4kR0FqHmZGpH3RCWSL3sGo.
PROFILE
cat >"$work/config/profiles/lab.ks" <<'KS'
# rendered for {{mac}} ({{hostname}})
text
url --url={{repo_url}}
%post
curl -fsS {{phone_home_url}}
%end
reboot
KS
echo "default lab" >"$work/config/rules.conf"

cat >"$work/bare.conf" <<CONF
provisioner {
  persistence.data-dir = "$work/bare"
  node.port = 0
  admin.listen = "http://127.0.0.1:9780"
}
CONF
# as demo.sh and the lab tests: answer iPXE's router solicitation so it does not wait ~13 s for IPv6
write_node_conf "$work/edge.conf" "    ipv6.answer-router-solicitations = on
    dhcp {
      enabled = on
      subnets = [ { id = bench, network = \"$net_prefix.0/24\", pool-start = \"$net_prefix.100\", pool-end = \"$net_prefix.199\", router = \"$srv_ip\", dns = [\"$srv_ip\"], lease-time = 1h } ]
    }
    tftp { enabled = on, root = \"$work/tftp\" }
    http { enabled = on, listen = \"http://$srv_ip:8080\", assets = \"$work/assets\" }"

ip netns del "$srv_ns" 2>/dev/null || true
ip netns add "$srv_ns"
ip -n "$srv_ns" link set lo up
ip -n "$srv_ns" link add br0 type bridge
ip -n "$srv_ns" addr add "$srv_ip/24" dev br0
ip -n "$srv_ns" link set br0 up

rss_of() { awk '/VmRSS/ { print $2 }' "/proc/$(pgrep -P "$1" | head -1)/status" 2>/dev/null || echo "?"; }
results="$work/results.txt"
: >"$results"

# cpu_ticks PID: user + system clock ticks so far of the dotnet process under the timeout wrapper PID.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(pgrep -P "$1" | head -1)/stat" 2>/dev/null || echo 0; }
# idle_report LABEL: RSS and CPU of the node over 15 s of idling, starting 5 s after healthy.
idle_report() {
  sleep 5
  local c0 c1
  c0=$(cpu_ticks "$prov_pid"); sleep 15; c1=$(cpu_ticks "$prov_pid")
  echo "idle, $1: RSS $(rss_of "$prov_pid") kB 20 s after healthy; CPU $(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", 100 * t / hz / 15 }') % of one core over 15 s" | tee -a "$results"
}

start_provisioner "$work/bare.conf" "$work/bare.log"
idle_report "core only (no edge service)"
stop_pid "$prov_pid"

start_provisioner "$work/edge.conf" "$work/edge.log"
idle_report "DHCP + TFTP + HTTP on br0"

printf '\xf8\x03\x00\x00\x00\x00\x00\x00' >"$work/sercon"
n=0
declare -A secs
for i in $(seq 1 "$boots"); do
  for kind in bios uefi; do
    n=$((n + 1))
    mac=$(printf '52:54:00:be:%02x:%02x' "$([ $kind = bios ] && echo 1 || echo 2)" "$i")
    tap="tpvb$n"
    ip -n "$srv_ns" tuntap add dev "$tap" mode tap
    ip -n "$srv_ns" link set "$tap" master br0 up
    if [ $kind = uefi ]; then
      fw=(-bios /usr/share/ovmf/OVMF.fd -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
    else
      fw=(-device "virtio-net-pci,netdev=n0,mac=$mac" -fw_cfg "name=etc/sercon-port,file=$work/sercon")
    fi
    t0=$(now)
    start_in "$srv_ns" 300 "$work/qemu.$n.log" qemu-system-x86_64 -machine accel=tcg -m 768 -display none -monitor none \
      -serial "file:$work/serial.$n.log" -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" "${fw[@]}" -boot n
    vm_pid=$last_pid
    stage=""
    for _ in $(seq 1 240); do
      stage=$(ip netns exec "$srv_ns" curl -fsS -m 2 "http://127.0.0.1:9780/api/v1/machines/$mac" 2>/dev/null \
        | sed -n 's/.*"stage": *"\([A-Za-z]*\)".*/\1/p' | head -1) || true
      [ "$stage" = Rebooted ] && break
      kill -0 "$vm_pid" 2>/dev/null || break
      sleep 1
    done
    t1=$(now)
    stop_pid "$vm_pid"
    ip -n "$srv_ns" link del "$tap" 2>/dev/null || true
    if [ "$stage" = Rebooted ]; then
      s=$(awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", z - a }')
    else
      s="fail(${stage:-none})"
    fi
    secs[$kind]+="$s "
    echo "$kind boot $i ($mac): power-on -> Rebooted $s s" | tee -a "$results"
    # where the seconds went: the machine's own journey (event times), against the power-on time
    echo "  power-on at $(date -u -d "@$t0" +%H:%M:%S.%3N); the machine's history:" >>"$results"
    timeout 30 ip netns exec "$srv_ns" dotnet "$prov_out/provisioner.dll" machine history "$mac" 2>&1 | sed 's/^/    /' >>"$results" || true
  done
done
echo "RSS after the boots: $(rss_of "$prov_pid") kB" | tee -a "$results"
# shellcheck disable=SC2086
echo "median power-on -> Rebooted: BIOS $(median ${secs[bios]}) s, UEFI $(median ${secs[uefi]}) s" | tee -a "$results"
echo "Provisioner warn/fail/error log lines: $(grep -ciE 'warn|fail|error' "$work/edge.log" || true)" | tee -a "$results"
stop_pid "$prov_pid"
echo "results: $results; serial logs and server log: $work"
