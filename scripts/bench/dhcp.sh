#!/usr/bin/env bash
# DHCPv4 DORA rate: Provisioner's DHCP server vs kea-dhcp4, driven by perfdhcp at rising rates, one run.
#
#   scripts/bench/dhcp.sh [PERIOD_SECONDS]      (default 30 per step; rates from BENCH_DHCP_RATES,
#                                                default "500 1000 2000 4000"; about 5 min with the defaults)
#
# Topology (created and deleted by name here): namespace pvb-dhcp-srv with bridge br0 10.78.255.1/24, namespace
# pvb-dhcp-cli with eth0 10.78.255.2/24 on a veth pair into br0. The server (one at a time) listens on port 67
# in the server namespace: Provisioner bound to br0 (SO_BINDTODEVICE), Kea with interfaces-config ["br0"] and
# UDP sockets. perfdhcp -4 runs in the client namespace and acts as a relay agent: it sends from
# 10.78.255.2:67 with giaddr 10.78.255.2 and expects replies at giaddr:67. Both servers get the same subnet,
# 10.78.0.0/16 (it holds giaddr, so relayed requests select it), pool 10.78.1.1 - 10.78.235.96 (60,000
# addresses, clear of the link's 10.78.255.0/24), router 10.78.255.1, lease time 1 h.
# Kea: memfile, persist true, lease file in the work dir, lfc-interval 0. Provisioner: its default SQLite journal.
#
# Each server is started fresh, then for each rate (ascending, same server process, leases kept):
#   perfdhcp -4 -l 10.78.255.2 -r RATE -R 50000 -p PERIOD -t PERIOD -W 2000000 10.78.255.1
# (-W: wait 2 s after the period for replies still in flight, so slow answers at the end are not drops)
# Reported per step: DORA completed/s (ACKs received / period), drops % of DISCOVER→OFFER and REQUEST→ACK,
# average and max OFFER and ACK latency, perfdhcp's non-unique/rejected addresses, and UDP receive-buffer
# overflows in the server and in the client namespace (/proc/net/snmp Udp RcvbufErrors) during the step.
# "clean rate" = DORA/s at the last step before drops (either exchange) first exceed 1 %.
# Ratios Provisioner/Kea: DORA/s and average DORA latency at each rate, and the clean rate.
source "$(dirname "$0")/lib.sh"

period=${1:-30}
rates=(${BENCH_DHCP_RATES:-500 1000 2000 4000})
bench_init dhcp 255
for tool in perfdhcp kea-dhcp4 timeout; do command -v "$tool" >/dev/null || { echo "dhcp bench: missing $tool (scripts/setup.sh: kea-dhcp4-server, kea-admin)" >&2; exit 1; }; done
build_provisioner

rm -rf "$work"; mkdir -p "$work/data" "$work/config" "$work/kea"
network=10.78.0.0/16
pool_start=10.78.1.1
pool_end=10.78.235.96

write_dhcp_configs "$network" "$pool_start" "$pool_end"

net_up

server_pid=""
start_server() {
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.log"
      server_pid=$prov_pid ;;
    kea)
      rm -f "$work/kea/kea-leases4.csv"*
      start_in "$srv_ns" 3600 "$work/kea/stdout.log" env KEA_PIDFILE_DIR="$work/kea" KEA_LOCKFILE_DIR="$work/kea" \
        kea-dhcp4 -c "$work/kea/kea-dhcp4.conf"
      server_pid=$last_pid
      for _ in $(seq 1 50); do
        ip netns exec "$srv_ns" ss -lun 2>/dev/null | grep -q ':67 ' && break
        kill -0 "$server_pid" 2>/dev/null || { echo "dhcp bench: kea-dhcp4 exited" >&2; cat "$work/kea/stdout.log" >&2; return 1; }
        sleep 0.2
      done ;;
  esac
  # a short warm-up: 5 s at 100/s, not reported
  timeout 30 ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r 100 -R 50000 -p 5 "$srv_ip" >"$work/$1.warmup.txt" 2>&1 || true
}

# Server namespace UDP receive-buffer overflows (packets the kernel dropped before the server read them).
rcvbuf_errors() { ip netns exec "${1:-$srv_ns}" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

# perf_step SERVER RATE: runs perfdhcp, prints
#   "DORA/s DO_DROP% RA_DROP% DO_AVG_MS RA_AVG_MS DO_MAX_MS RA_MAX_MS NON_UNIQUE REJECTED"
perf_step() {
  local out="$work/perfdhcp.$1.$2.txt"
  timeout $((period + 60)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$2" -R 50000 -p "$period" -t "$period" -W 2000000 "$srv_ip" >"$out" 2>&1 || true
  awk -v p="$period" '
    /^\*\*\*Statistics for: DISCOVER-OFFER/ { x = "do" }
    /^\*\*\*Statistics for: REQUEST-ACK/ { x = "ra" }
    x != "" && /^sent packets:/ { sent[x] = $3 }
    x != "" && /^received packets:/ { recv[x] = $3 }
    x != "" && /^drops:/ { drops[x] = $2 }
    x != "" && /^max delay:/ { mx[x] = $3 }
    x != "" && /^non unique addresses:/ { nu += $4 }
    x != "" && /^rejected leases:/ { rj += $3 }
    x != "" && /^avg delay:/ { avg[x] = $3 }
    function pct(k) { return sent[k] > 0 ? 100 * drops[k] / sent[k] : 100 }
    END { printf "%.0f %.2f %.2f %.3f %.3f %.1f %.1f %d %d\n", recv["ra"] / p, pct("do"), pct("ra"), avg["do"], avg["ra"], mx["do"], mx["ra"], nu, rj }' "$out"
}

servers=(kea provisioner)
declare -A dora clean best lat
results="$work/results.txt"
echo "perfdhcp -4 -l $cli_ip -r RATE -R 50000 -p $period -t $period -W 2000000 $srv_ip (ns $cli_ns -> $srv_ns), rates: ${rates[*]}" | tee "$results"
printf '%-12s %6s %9s %8s %8s %9s %9s %9s %9s %7s %6s %10s\n' server rate DORA/s do_drop% ra_drop% do_avg_ms ra_avg_ms do_max_ms ra_max_ms nonuniq rcvbuf cli_rcvbuf | tee -a "$results"
for s in "${servers[@]}"; do
  start_server "$s"
  clean[$s]=0; best[$s]=0; over=0
  for r in "${rates[@]}"; do
    b0=$(rcvbuf_errors); c0=$(rcvbuf_errors "$cli_ns")
    read -r d dd rd da ra dm rm nu rj < <(perf_step "$s" "$r")
    rb=$(( $(rcvbuf_errors) - b0 )); cb=$(( $(rcvbuf_errors "$cli_ns") - c0 ))
    dora[$s.$r]=$d
    lat[$s.$r]=$(awk -v a="$da" -v b="$ra" 'BEGIN { printf "%.3f", a + b }')
    if awk -v a="$dd" -v b="$rd" 'BEGIN { exit !(a <= 1 && b <= 1) }'; then
      best[$s]=$d; [ "$over" = 0 ] && clean[$s]=$d
    else
      over=1
    fi
    printf '%-12s %6s %9s %8s %8s %9s %9s %9s %9s %7s %6s %10s\n' "$s" "$r" "$d" "$dd" "$rd" "$da" "$ra" "$dm" "$rm" "$((nu + rj))" "$rb" "$cb" | tee -a "$results"
  done
  echo "$s RSS after the sweep (all processes in $srv_ns): $(ns_rss "$srv_ns") kB" >>"$work/rss.txt"
  stop_pid "$server_pid"
done

{
  echo
  printf '%-8s %12s %12s %8s %16s %16s %10s\n' rate prov_DORA/s kea_DORA/s ratio prov_DO+RA_ms kea_DO+RA_ms lat_ratio
  for r in "${rates[@]}"; do
    printf '%-8s %12s %12s %8s %16s %16s %10s\n' "$r" "${dora[provisioner.$r]}" "${dora[kea.$r]}" "$(ratio "${dora[provisioner.$r]}" "${dora[kea.$r]}")" \
      "${lat[provisioner.$r]}" "${lat[kea.$r]}" "$(ratio "${lat[provisioner.$r]}" "${lat[kea.$r]}")"
  done
  echo "(DO+RA_ms = average DISCOVER->OFFER + REQUEST->ACK latency, i.e. the average time of one DORA; lat_ratio Provisioner/Kea)"
  echo "clean rate (DORA/s at the last step before drops first exceed 1 %): Provisioner ${clean[provisioner]}, Kea ${clean[kea]}, ratio $(ratio "${clean[provisioner]}" "${clean[kea]}")"
  echo "highest step with drops <= 1 % (even after a worse step): Provisioner ${best[provisioner]}, Kea ${best[kea]}, ratio $(ratio "${best[provisioner]}" "${best[kea]}")"
  cat "$work/rss.txt" 2>/dev/null || true
  echo "nonuniq = perfdhcp's non-unique addresses + rejected leases (must be 0); rcvbuf / cli_rcvbuf = UdpRcvbufErrors in the server / client (perfdhcp) namespace during the step"
  echo "Kea log lines at WARN or above: $(grep -vc DHCP4_MULTI_THREADING_INFO "$work/kea/kea.log" 2>/dev/null || true)"
  echo "Provisioner log lines: $(wc -l <"$work/provisioner.log"), of which warn/fail/error: $(grep -ciE 'warn|fail|error' "$work/provisioner.log" || true)"
  # Every REQUEST perfdhcp sent vs every ACK Provisioner logged (drops with equal counts = late replies, not missing
  # ones). OFFERs log at Debug, so only ACKs are counted.
  sent_ra=$(cat "$work"/perfdhcp.provisioner.*.txt "$work/provisioner.warmup.txt" | awk '/REQUEST-ACK/ { x = 1 } /DISCOVER-OFFER/ { x = 0 } x && /^sent packets:/ { n += $3 } END { print n + 0 }')
  echo "Provisioner answered: $(grep -c 'Request .*-> Ack' "$work/provisioner.log" || true) ACKs for $sent_ra REQUESTs sent (all steps + warm-up)"
} | tee -a "$results"
echo "results: $results; perfdhcp outputs and server logs: $work"
