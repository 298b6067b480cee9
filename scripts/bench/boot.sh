#!/usr/bin/env bash
# End-to-end boot time and memory of `provisioner serve`, one run.
#
#   scripts/bench/boot.sh [BOOTS_EACH]      (default 2 BIOS + 2 UEFI on each stack; about 7 min)
#
# Memory and idle CPU: RSS (VmRSS of the dotnet process) of an idle node 20 s after /healthz answers and its CPU
# time over the last 15 s of that, first with no edge service (core only, as `provisioner serve` runs by default),
# then with DHCP + TFTP + HTTP on br0; RSS again after the boots.
# Boots: as scripts/demo.sh and the lab tests do: qemu (TCG, 768 MB) on a tap device on br0 in namespace
# pvb-boot-srv (10.78.34.1/24), the busybox "installer" from scripts/lab/build-test-initrd.sh, one node for
# every boot, a new MAC per boot. BIOS = SeaBIOS + QEMU's iPXE ROM; UEFI = OVMF with no option ROM
# (edk2's own PXE, then TFTP ipxe.efi, then iPXE).
# The peer, in the same run: the reference stack of the classic guides, dnsmasq (DHCP + TFTP) and nginx (a static
# boot script, kernel, initrd, kickstart), with iPXE's waits cut the same way Provisioner cuts them (option
# 175.176 = 1: no wait for ProxyDHCP offers; a router advertisement, from dnsmasq: no ~13 s wait for IPv6), and
# without dnsmasq's ping of each address before offering it (--no-ping; measured: that check delays a new
# machine's first OFFER by 3 s, which iPXE waits out and EDK2's own 4 s offer collection hides). It runs
# in its own namespace pvb-boot-cli with the same addresses, the same VM command and the same installer; the
# stack that is not booting is frozen with SIGSTOP. Boots alternate: Provisioner BIOS, reference BIOS,
# Provisioner UEFI, reference UEFI, then again.
# Reported, seconds from power-on (qemu started): initrd (the initrd fetched: the end of the network boot, where the
# servers do their part; what follows is the kernel and installer under TCG, 6.5-9.5 s here whichever server
# answered), Installed (the installer's phone-home reached the server:
# Provisioner's event time, nginx's $msec) and Rebooted (Provisioner: the installed machine's next PXE boot,
# sent to its disk; reference: its next DHCPDISCOVER, found by polling dnsmasq's log every 0.2 s; a static stack
# would install it again), medians and the ratio Provisioner / reference (below 1: Provisioner is faster).
# Nothing touches a real interface; the namespaces and tap devices are created and deleted by name.
source "$(dirname "$0")/lib.sh"

boots=${1:-2}
bench_init boot 34
for tool in qemu-system-x86_64 curl timeout dnsmasq nginx; do command -v "$tool" >/dev/null || { echo "boot bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
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

# The reference stack, in its own namespace with the same addresses (plus a ULA prefix for dnsmasq's RA).
ref_ns=$cli_ns
ref="$work/ref"
mkdir -p "$ref/tftp" "$ref/http/assets" "$ref/http/ks" "$ref/tmp"
cp -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi "$ref/tftp/"
cp -r "$work/assets/lab" "$ref/http/assets/"
cat >"$ref/http/boot.ipxe" <<IPXE
#!ipxe
kernel http://$srv_ip:8080/assets/lab/vmlinuz initrd=initrd.img console=ttyS0 quiet panic=5 inst.repo=http://example.invalid/centos/7.9/os/x86_64 ks=http://$srv_ip:8080/ks/lab.ks
initrd --name initrd.img http://$srv_ip:8080/assets/lab/initrd.img
boot
IPXE
printf 'text\nurl --url=http://example.invalid/centos/7.9/os/x86_64\n%%post\ncurl -fsS http://%s:8080/phone-home/ref\n%%end\nreboot\n' "$srv_ip" >"$ref/http/ks/lab.ks"
chmod -R a+rX "$work"
cat >"$ref/nginx.conf" <<CONF
worker_processes 1;
pid $ref/nginx.pid;
error_log $ref/nginx-error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  log_format t '\$msec \$remote_addr "\$request" \$status \$body_bytes_sent';
  access_log $ref/access.log t;
  client_body_temp_path $ref/tmp;
  proxy_temp_path $ref/tmp;
  fastcgi_temp_path $ref/tmp;
  uwsgi_temp_path $ref/tmp;
  scgi_temp_path $ref/tmp;
  server {
    listen $srv_ip:8080;
    root $ref/http;
    location /phone-home/ { return 200 "installed\n"; }
  }
}
CONF
ip netns del "$ref_ns" 2>/dev/null || true
ip netns add "$ref_ns"
ip -n "$ref_ns" link set lo up
ip -n "$ref_ns" link add br0 type bridge
ip -n "$ref_ns" addr add "$srv_ip/24" dev br0
ip -n "$ref_ns" addr add fd78:34::1/64 dev br0 nodad
ip -n "$ref_ns" link set br0 up
: >"$ref/access.log"; : >"$ref/dnsmasq.log"
start_in "$ref_ns" 3600 "$ref/dnsmasq.out" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
  --interface=br0 --bind-interfaces --no-ping --pid-file="$ref/dnsmasq.pid" --log-facility="$ref/dnsmasq.log" --log-dhcp \
  --dhcp-range="$net_prefix.100,$net_prefix.199,255.255.255.0,1h" --dhcp-leasefile="$ref/leases" \
  --dhcp-option=option:router,"$srv_ip" \
  --dhcp-userclass=set:ipxe,iPXE --dhcp-match=set:efi64,option:client-arch,7 --dhcp-match=set:efi64,option:client-arch,9 \
  --dhcp-boot=tag:ipxe,"http://$srv_ip:8080/boot.ipxe" \
  --dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,"$srv_ip" --dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,"$srv_ip" \
  --dhcp-option=encap:175,176,1b \
  --enable-tftp --tftp-root="$ref/tftp" \
  --enable-ra --dhcp-range=::,constructor:br0,ra-only
ref_dnsmasq=$last_pid
start_in "$ref_ns" 3600 "$ref/nginx.out" nginx -c "$ref/nginx.conf" -g 'daemon off;'
ref_nginx=$last_pid
sleep 1
kill -0 "$ref_dnsmasq" && kill -0 "$ref_nginx" || { echo "boot bench: reference stack did not start:" >&2; cat "$ref/dnsmasq.out" "$ref/nginx.out" "$ref/dnsmasq.log" >&2; exit 1; }

only_stack() {
  if [ "$1" = provisioner ]; then signal_tree STOP "$ref_dnsmasq"; signal_tree STOP "$ref_nginx"; signal_tree CONT "$prov_pid"
  else signal_tree STOP "$prov_pid"; signal_tree CONT "$ref_dnsmasq"; signal_tree CONT "$ref_nginx"; fi
  sleep 0.5
}
thaw_all() { signal_tree CONT "$prov_pid"; signal_tree CONT "$ref_dnsmasq"; signal_tree CONT "$ref_nginx"; }
trap 'thaw_all; bench_cleanup' EXIT

# start_vm NS KIND MAC N: qemu on a new tap in NS's br0; sets vm_pid, tap and t0 (power-on).
start_vm() {
  local ns=$1 kind=$2 mac=$3 n=$4 fw
  tap="tpvb$n"
  ip -n "$ns" tuntap add dev "$tap" mode tap
  ip -n "$ns" link set "$tap" master br0 up
  if [ "$kind" = uefi ]; then
    fw=(-bios /usr/share/ovmf/OVMF.fd -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
  else
    fw=(-device "virtio-net-pci,netdev=n0,mac=$mac" -fw_cfg "name=etc/sercon-port,file=$work/sercon")
  fi
  t0=$(now)
  start_in "$ns" 300 "$work/qemu.$n.log" qemu-system-x86_64 -machine accel=tcg -m 768 -display none -monitor none \
    -serial "file:$work/serial.$n.log" -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" "${fw[@]}" -boot n
  vm_pid=$last_pid
}
stop_vm() { stop_pid "$vm_pid"; ip -n "$1" link del "$tap" 2>/dev/null || true; }
# event_time HISTORY EVENT: epoch seconds of the first EVENT line of a `machine history` table
event_time() { local d; d=$(awk -v e="$2" '$3 == e { print $1 " " $2; exit }' "$1"); [ -n "$d" ] && date -u -d "${d%Z}" +%s.%N || echo ""; }
since() { [ -n "$2" ] && awk -v a="$1" -v z="$2" 'BEGIN { printf "%.1f", z - a }' || echo "fail"; }

boot_provisioner() {
  local kind=$1 mac=$2 n=$3 stage="" hist="$work/history.$n.txt"
  only_stack provisioner
  start_vm "$srv_ns" "$kind" "$mac" "$n"
  for _ in $(seq 1 240); do
    stage=$(ip netns exec "$srv_ns" curl -fsS -m 2 "http://127.0.0.1:9780/api/v1/machines/$mac" 2>/dev/null \
      | sed -n 's/.*"stage": *"\([A-Za-z]*\)".*/\1/p' | head -1) || true
    [ "$stage" = Rebooted ] && break
    kill -0 "$vm_pid" 2>/dev/null || break
    sleep 1
  done
  stop_vm "$srv_ns"
  timeout 30 ip netns exec "$srv_ns" dotnet "$prov_out/provisioner.dll" machine history "$mac" >"$hist" 2>&1 || true
  ini=$(since "$t0" "$(event_time "$hist" InitrdFetched)")
  inst=$(since "$t0" "$(event_time "$hist" Installed)"); reb=$(since "$t0" "$(event_time "$hist" Rebooted)")
  [ "$stage" = Rebooted ] || reb="fail(${stage:-none})"
  echo "$kind boot $i, Provisioner ($mac): power-on -> initrd fetched $ini s, -> Installed $inst s, -> Rebooted $reb s" | tee -a "$results"
  # where the seconds went: the machine's own journey (event times), against the power-on time
  echo "  power-on at $(date -u -d "@$t0" +%H:%M:%S.%3N); the machine's history:" >>"$results"
  sed 's/^/    /' "$hist" >>"$results"
}

boot_reference() {
  local kind=$1 mac=$2 n=$3 logs_at initrd installed="" discovers=0 rebooted=""
  only_stack reference
  logs_at=$(wc -l <"$ref/access.log")
  start_vm "$ref_ns" "$kind" "$mac" "$n"
  for _ in $(seq 1 1200); do
    if [ -z "$installed" ]; then
      installed=$(tail -n +"$((logs_at + 1))" "$ref/access.log" | awk '/ "GET \/phone-home\// { print $1; exit }')
      [ -n "$installed" ] && discovers=$(grep -c "DHCPDISCOVER(br0) $mac" "$ref/dnsmasq.log" || true)
    elif [ "$(grep -c "DHCPDISCOVER(br0) $mac" "$ref/dnsmasq.log" || true)" -gt "$discovers" ]; then
      rebooted=$(now); break
    fi
    kill -0 "$vm_pid" 2>/dev/null || break
    sleep 0.2
  done
  stop_vm "$ref_ns"
  initrd=$(tail -n +"$((logs_at + 1))" "$ref/access.log" | awk '/ "GET \/assets\/lab\/initrd.img / { print $1; exit }')
  ini=$(since "$t0" "$initrd"); inst=$(since "$t0" "$installed"); reb=$(since "$t0" "$rebooted")
  echo "$kind boot $i, reference ($mac): power-on -> initrd fetched $ini s, -> Installed $inst s, -> PXE again (Rebooted) $reb s" | tee -a "$results"
}

n=0
declare -A secs
for i in $(seq 1 "$boots"); do
  for kind in bios uefi; do
    n=$((n + 1))
    boot_provisioner "$kind" "$(printf '52:54:00:be:%02x:%02x' "$([ $kind = bios ] && echo 1 || echo 2)" "$i")" "$n"
    secs[prov.$kind.ini]+="$ini "; secs[prov.$kind.inst]+="$inst "; secs[prov.$kind.reb]+="$reb "
    n=$((n + 1))
    boot_reference "$kind" "$(printf '52:54:00:bf:%02x:%02x' "$([ $kind = bios ] && echo 1 || echo 2)" "$i")" "$n"
    secs[ref.$kind.ini]+="$ini "; secs[ref.$kind.inst]+="$inst "; secs[ref.$kind.reb]+="$reb "
  done
done
thaw_all
echo "RSS after the boots: $(rss_of "$prov_pid") kB" | tee -a "$results"
# shellcheck disable=SC2086
{
  echo
  echo "medians over $boots boots each, seconds from power-on (ratio = Provisioner / reference; below 1 = faster)"
  printf '%-5s %-10s %12s %12s %7s\n' kind milestone provisioner reference ratio
  for kind in bios uefi; do
    for m in ini inst reb; do
      p=$(median ${secs[prov.$kind.$m]}); r=$(median ${secs[ref.$kind.$m]})
      printf '%-5s %-10s %12s %12s %7s\n' "$kind" "$(case $m in ini) echo initrd ;; inst) echo Installed ;; *) echo Rebooted ;; esac)" "$p" "$r" "$(ratio "$p" "$r")"
    done
  done
} | tee -a "$results"
# (not counted: Akka's "heartbeat was delayed", which the SIGSTOP during the reference's boots causes)
echo "Provisioner warn/fail/error log lines: $(grep -iE 'warn|fail|error' "$work/edge.log" | grep -vc 'heartbeat was delayed' || true)" | tee -a "$results"
stop_pid "$prov_pid"
echo "results: $results; serial logs, server logs and the reference's logs: $work"
