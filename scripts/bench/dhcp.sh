#!/usr/bin/env bash
# DHCPv4 DORA rate and latency: Provisioner's DHCP server vs kea-dhcp4, driven by perfdhcp, peers interleaved, one run.
#
#   scripts/bench/dhcp.sh [PERIOD_SECONDS]      (default 12 per step; about 14 min with the defaults on 2 cores)
#
#   BENCH_DHCP_RATES   offered DORA/s, ascending                      (default "250 1000 2500 5000")
#   BENCH_DHCP_CASES   which cases, in order                          (default "new known plain")
#   BENCH_DHCP_KNOWN   machines a "known" run seeds and then renews   (default 2000)
#   BENCH_DHCP_RMEM    net.core.rmem_default for the bench, bytes     (default 8388608, see "Socket buffers")
#   BENCH_LOGS         shipped | quiet: how much both servers log     (default shipped, see "Logging")
#
# Cases (what users do, not what a server does best):
#   new    PXE firmware the server has never seen (a rollout): every exchange is a new MAC, each DISCOVER/REQUEST
#          carries option 60 "PXEClient:Arch:00000:UNDI:002001" and option 93 = 0 (x86 BIOS), so Provisioner
#          creates a machine actor per client and Kea's PXE class matches. The server is started fresh (empty
#          journal / lease file) right before the step and gets NO warm-up: a node that just started. MACs:
#          base 02:01:SS:00:00:00 (SS = step number) and -R larger than the step's exchanges, so no MAC repeats
#          within a step or across steps.
#   known  machines both servers already hold, doing DORA again: the server is started fresh, then BENCH_DHCP_KNOWN
#          PXE clients (base 02:02:SS:00:00:00) complete DORA at 250/s (up to 3 passes, perfdhcp -W 2 s: seeding
#          is not measured and is the only warm-up), then the measured step sends DORA from the same MACs (-R
#          BENCH_DHCP_KNOWN: perfdhcp cycles through them, each MAC every KNOWN/RATE s; Provisioner's per-MAC limit
#          is 20 packets/s). The seeded count per server is printed; a MAC the seed did not complete is new.
#   plain  clients without option 60 (no machine actor), -R 50000 from perfdhcp's default base, as in earlier
#          sessions; the server is started fresh and warmed with 5 s at 100/s (not reported), as before.
# Every run (case x rate x server) starts its server afresh on empty data; the two servers alternate (Kea first on
# odd steps, Provisioner first on even ones). After the rate sweep of a case, each server gets one more run at
# 2 x its own clean rate (the offered rate of its clean step; none when no step was clean).
#
# Topology (created and deleted by name here): namespace pvb-dhcp-srv with bridge br0 10.78.255.1/24, namespace
# pvb-dhcp-cli with eth0 10.78.255.2/24 on a veth pair into br0. The server (one at a time) listens on port 67
# in the server namespace: Provisioner bound to br0 (SO_BINDTODEVICE), Kea with interfaces-config ["br0"] and
# UDP sockets. perfdhcp -4 runs in the client namespace and acts as a relay agent: it sends from
# 10.78.255.2:67 with giaddr 10.78.255.2 and expects replies at giaddr:67. Both servers get the same subnet,
# 10.64.0.0/12 (it holds giaddr, so relayed requests select it), pool 10.64.0.1 - 10.75.255.254 (786,430
# addresses: a new-machine step at 2 x 5,000/s for 12 s needs 120,000), router 10.78.255.1, lease time 1 h.
# Kea: memfile, persist true, lease file in the work dir, lfc-interval 0, PXE client classes (lib.sh
# write_dhcp_configs). Provisioner: its default SQLite journal, default settings.
#
# Measured step: perfdhcp -4 -l 10.78.255.2 -r RATE -R N [-b mac=BASE] -p PERIOD -t PERIOD -W WAIT [-o 60,.. -o 93,0000]
# Every request gets the same grace: perfdhcp's drop time (1 s, its default; PXE firmware waits 4 s for an OFFER, so a
# 1 s answer is already slow): a reply later than that is a drop. WAIT (BENCH_DHCP_EXIT_WAIT_US, default 1000000 = that
# same 1 s) lets the requests of the period's last second have it too; no request gets more. With 0 (the rule until the
# fourteenth session) perfdhcp exits at the end of the period and the exchanges still in flight count as drops: at
# 4,500/s a server answering in 100 ms loses 450 of 54,000 exchanges (0.8 %) that way, one answering in 0.1 ms none.
# The client shares the 2 cores with the server: perfdhcp can count as dropped a reply that reached its namespace in
# time (seventeenth session: 5.2 % "dropped" at 4,500/s while the capture had every DISCOVER answered within 0.86 s).
# The columns w_do% / w_ra% give the drops on the wire (no reply within 1 s in the capture) beside perfdhcp's; the
# clean rate stays perfdhcp's. (Running perfdhcp at nice -10 did not help: it polls, and took a core from the server.)
#
# Latency percentiles: tcpdump on the client's eth0 (udp port 67, -B 64 MiB) during the step; dhcp-latency.sh pairs
# DISCOVER/OFFER and REQUEST/ACK by xid and ranks the answered ones (replies after perfdhcp exited excluded). The
# capture's kernel drops are printed per step (cap_drop, must be 0; $work/capture.txt has the counts).
# BENCH_DHCP_KEEP_PCAP=1 keeps the captures in the work dir. BENCH_DHCP_SERVERS="provisioner" (default "kea provisioner")
# runs one server only, e.g. to compare settings with BENCH_PROVISIONER_HOCON (no ratio is printed then).
#
# Socket buffers: Provisioner asks SO_RCVBUF 4 MiB, which the kernel doubles to an 8 MiB rb when net.core.rmem_max
# allows; Kea asks nothing and gets net.core.rmem_default (212,992 B on Debian). These sysctls are global on Linux
# (a network namespace sees init's values and cannot write them), so for the run net.core.rmem_default is set to
# BENCH_DHCP_RMEM (8 MiB) and rmem_max to at least 4 MiB, and both are restored on exit (lib.sh sysctl_set; a run
# killed with SIGKILL has them restored by the next bench start). While the bench runs, every new socket on this host
# gets that default (perfdhcp's too). Each run prints the server's effective rb (ss -ulmn in the server namespace).
#
# Logging (lib.sh bench_logs): by default both servers log as shipped. Kea at INFO (the severity of Debian's
# /etc/kea/kea-dhcp4.conf) writes a DHCP4_LEASE_ADVERT line per OFFER and a DHCP4_LEASE_ALLOC line per ACK;
# Provisioner at its default (Information) one line per ACK. Until the tenth session Kea ran at WARN and wrote nothing
# per lease while Provisioner paid for its line (~5 % CPU per DORA, measured). BENCH_LOGS=quiet turns the per-exchange
# lines off on both (Kea WARN, Provisioner's DhcpHandler at Warning). The summary counts both servers' lines.
#
# Reported per case, rate and server: DORA completed/s (ACKs received / period), drops % of DISCOVER->OFFER and
# REQUEST->ACK (perfdhcp), p50/p99 DISCOVER->OFFER, REQUEST->ACK and DISCOVER->ACK ms (capture), UDP receive-buffer
# overflows in the server and client namespaces during the step (/proc/net/snmp Udp RcvbufErrors), the server's rb.
# Per case: clean rate = the highest step with drops <= 1 % on both exchanges (offered and completed/s), the run at
# 2 x clean (completed/s, % of started exchanges completed, p99 DORA), and Provisioner/Kea ratios of clean rates.
source "$(dirname "$0")/lib.sh"
bench_logs >/dev/null || exit 2   # a mistyped BENCH_LOGS would otherwise run "shipped" without a word

period=${1:-12}
exit_wait_us=${BENCH_DHCP_EXIT_WAIT_US:-1000000}
rates=(${BENCH_DHCP_RATES:-250 1000 2500 5000})
cases=(${BENCH_DHCP_CASES:-new known plain})
known_n=${BENCH_DHCP_KNOWN:-2000}
rmem=${BENCH_DHCP_RMEM:-8388608}
seed_rate=250
[[ "$period" =~ ^[0-9]+$ ]] && [ "$period" -ge 2 ] && [ "$period" -le 300 ] || { echo "dhcp bench: PERIOD must be 2..300 s" >&2; exit 2; }
for c in "${cases[@]}"; do case $c in new|known|plain) ;; *) echo "dhcp bench: unknown case '$c' (new known plain)" >&2; exit 2 ;; esac; done
for r in "${rates[@]}"; do [[ "$r" =~ ^[0-9]+$ ]] && [ "$r" -ge 1 ] && [ "$r" -le 50000 ] || { echo "dhcp bench: bad rate '$r'" >&2; exit 2; }; done
[ "${#rates[@]}" -le 12 ] || { echo "dhcp bench: at most 12 rates" >&2; exit 2; }
bench_init dhcp 255
for tool in perfdhcp kea-dhcp4 timeout tcpdump ss sysctl flock; do
  command -v "$tool" >/dev/null || { echo "dhcp bench: missing $tool (scripts/setup.sh: kea-dhcp4-server, kea-admin, tcpdump)" >&2; exit 1; }
done
build_provisioner

rm -rf "$work"; mkdir -p "$work/data" "$work/config" "$work/kea"
network=10.64.0.0/12
pool_start=10.64.0.1
pool_end=10.75.255.254
write_dhcp_configs "$network" "$pool_start" "$pool_end"

net_up

echo "== socket buffers: net.core.rmem_default $(sysctl -n net.core.rmem_default) -> $rmem, rmem_max $(sysctl -n net.core.rmem_max) (restored on exit)"
sysctl_set net.core.rmem_default "$rmem"
[ "$(sysctl -n net.core.rmem_max)" -ge 4194304 ] || sysctl_set net.core.rmem_max 4194304

server_pid=""
# start_server SERVER: fresh data, fresh process, no warm-up.
start_server() {
  rm -rf "$work/data" "$work/kea/kea-leases4.csv"*
  mkdir -p "$work/data"
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.log.tmp"
      server_pid=$prov_pid ;;
    kea)
      start_in "$srv_ns" 3600 "$work/kea/stdout.log" env KEA_PIDFILE_DIR="$work/kea" KEA_LOCKFILE_DIR="$work/kea" \
        kea-dhcp4 -c "$work/kea/kea-dhcp4.conf"
      server_pid=$last_pid
      local ok=0
      for _ in $(seq 1 50); do
        ip netns exec "$srv_ns" ss -lun 2>/dev/null | grep -q ':67 ' && { ok=1; break; }
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
      done
      [ "$ok" = 1 ] || { echo "dhcp bench: kea-dhcp4 did not listen" >&2; cat "$work/kea/stdout.log" >&2; return 1; } ;;
  esac
}
stop_server() {
  stop_pid "$server_pid"
  # keep every run's log (a run's log is replaced when the next node starts)
  [ "$1" = provisioner ] && cat "$work/provisioner.log.tmp" >>"$work/provisioner.log"
  return 0
}

# server_rb: the receive buffer (ss skmem rb, bytes) of the socket on port 67 in the server namespace.
server_rb() { ip netns exec "$srv_ns" ss -ulmn 'sport = :67' | grep -o 'rb[0-9]*' | head -1 | tr -d rb; }
# Server namespace UDP receive-buffer overflows (packets the kernel dropped before the server read them).
rcvbuf_errors() { ip netns exec "${1:-$srv_ns}" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

# seed_known BASE: BENCH_DHCP_KNOWN PXE clients complete DORA (up to 3 passes until one gets >= 99 % ACKs); prints
# the ACKs of the last pass (every MAC of a pass that was ACKed holds a lease).
seed_known() {
  local pass acks=0 out
  for pass in 1 2 3; do
    out="$work/seed.$pass.txt"
    timeout $((known_n / seed_rate + 60)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$seed_rate" -R "$known_n" -n "$known_n" \
      -b "mac=$1" -p $((known_n / seed_rate + 20)) -W 2000000 "${pxe_opts[@]}" "$srv_ip" >"$out" 2>&1 || true
    acks=$(perfdhcp_stats "$out" | awk '{ print $1 }')
    [ "$acks" -ge $((known_n * 99 / 100)) ] && break
  done
  echo "$acks"
}

results="$work/results.txt"
# One row per run, for the summaries: case rate server tag completed/s do% ra% do_p50 do_p99 ra_p50 ra_p99 dora_p50 dora_p99
# started acks w_do% w_ra% srv_dora_p99 gap_p99
rows="$work/rows.txt"
: >"$rows"
fmt='%-6s %-11s %6s %8s %7s %7s %7s %8s %8s %8s %8s %8s %8s %6s %6s %8s %5s %6s %6s %6s %12s %8s\n'

# unanswered_pct SENT ANSWERED: the % of SENT without an answer (0 when nothing was sent).
unanswered_pct() { awk -v n="$1" -v a="$2" 'BEGIN { printf "%.2f", (n > 0 ? 100 * (n - a) / n : 0) }'; }

# run_step CASE SERVER RATE STEP TAG: one measured run; prints a table row and appends to $rows.
run_step() {
  local c=$1 s=$2 r=$3 step=$4 tag=$5
  local base out pcap n seeded="" extra=()
  base=$(printf '02:%02x:%02x:00:00:00' "$(case $c in new) echo 1 ;; known) echo 2 ;; plain) echo 3 ;; esac)" "$step")
  out="$work/perfdhcp.$c.$r.$s.txt"; pcap="$work/cap.$c.$r.$s.pcap"
  start_server "$s"
  case $c in
    new)   n=$((r * period + r + 100)); extra=(-b "mac=$base" "${pxe_opts[@]}") ;;
    known) seeded=$(seed_known "$base"); n=$known_n; extra=(-b "mac=$base" "${pxe_opts[@]}") ;;
    plain) n=50000; timeout 30 ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r 100 -R 50000 -p 5 "$srv_ip" >"$work/warmup.$c.$r.$s.txt" 2>&1 || true ;;
  esac
  local rb b0 c0 end
  rb=$(server_rb)
  b0=$(rcvbuf_errors); c0=$(rcvbuf_errors "$cli_ns")
  capture_start "$cli_ns" eth0 "$pcap" udp port 67
  timeout $((period + 30)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$r" -R "$n" -p "$period" -t "$period" -W "$exit_wait_us" "${extra[@]}" "$srv_ip" >"$out" 2>&1 || true
  end=$(now)
  local captured kdrop unwritten
  read -r captured kdrop unwritten < <(capture_stop "$pcap")
  echo "$c $r $s $tag captured $captured, dropped by kernel $kdrop, after the end $unwritten" >>"$work/capture.txt"
  local rbe cbe
  rbe=$(( $(rcvbuf_errors) - b0 )); cbe=$(( $(rcvbuf_errors "$cli_ns") - c0 ))
  stop_server "$s"
  local acks started dd rd nu
  read -r acks started dd rd nu < <(perfdhcp_stats "$out")
  local nd no lo dp50 dp99 nq na la rp50 rp99 xp50 xp99 nak no1 na1 sp50 sp99 gp50 gp99 wdd wrd
  read -r nd no lo dp50 dp99 nq na la rp50 rp99 xp50 xp99 nak no1 na1 sp50 sp99 gp50 gp99 < <("$(dirname "$0")/dhcp-latency.sh" "$pcap" "$end")
  [ "${BENCH_DHCP_KEEP_PCAP:-0}" = 1 ] || rm -f "$pcap"
  local dps
  wdd=$(unanswered_pct "$nd" "$no1"); wrd=$(unanswered_pct "$nq" "$na1")
  dps=$(awk -v a="$acks" -v p="$period" 'BEGIN { printf "%.0f", a / p }')
  [ -n "$seeded" ] && echo "  ($c $s rate $r: seeded $seeded of $known_n known machines before the step)" >>"$work/notes.txt"
  [ "$nu" -gt 0 ] && echo "  ($c $s rate $r: perfdhcp counted $nu non-unique or rejected addresses)" >>"$work/notes.txt"
  [ "$lo" -gt 0 ] || [ "$la" -gt 0 ] && echo "  ($c $s rate $r: $lo OFFERs and $la ACKs came after perfdhcp stopped: drops)" >>"$work/notes.txt"
  [ "$nak" -gt 0 ] && echo "  ($c $s rate $r: $nak NAKs)" >>"$work/notes.txt"
  echo "$c $r $s $tag $dps $dd $rd $dp50 $dp99 $rp50 $rp99 $xp50 $xp99 $started $acks $wdd $wrd $sp99 $gp99" >>"$rows"
  # shellcheck disable=SC2059
  printf "$fmt" "$c" "$s" "$r" "$dps" "$dd" "$rd" "$tag" "$dp50" "$dp99" "$rp50" "$rp99" "$xp50" "$xp99" "$rbe" "$cbe" "$((rb / 1024))" "$kdrop" "${seeded:--}" "$wdd" "$wrd" "$sp99" "$gp99" | tee -a "$results"
}

servers=(${BENCH_DHCP_SERVERS:-kea provisioner})
for s in "${servers[@]}"; do case $s in kea|provisioner) ;; *) echo "dhcp bench: unknown server '$s' in BENCH_DHCP_SERVERS (kea provisioner)" >&2; exit 2 ;; esac; done
{
  echo "dhcp.sh $period s per step, rates ${rates[*]}, cases ${cases[*]}; perfdhcp -4 -l $cli_ip -r RATE -R N -p $period -t $period [PXE options, -b mac=BASE] $srv_ip"
  echo "(ns $cli_ns -> $srv_ns; -W $exit_wait_us us (BENCH_DHCP_EXIT_WAIT_US), drop time 1 s; every run on a freshly started server with empty data; see the script's header)"
  echo "ms = capture latency p50/p99 of the answered exchanges; srv_rbe / cli_rbe = UdpRcvbufErrors in the server / client namespace;"
  echo "rb_KiB = the server socket's receive buffer; cap_drop = packets tcpdump's kernel buffer dropped (must be 0); seeded = known machines held before the step;"
  echo "w_do% / w_ra% = DISCOVERs / REQUESTs not answered on the wire within 1 s (capture), whatever perfdhcp made of the reply;"
  echo "srv_dora_p99 = p99 of DISCOVER->OFFER + REQUEST->ACK (the server's part of a DORA); gap_p99 = p99 OFFER->REQUEST (the client's part)"
} | tee "$results"
# shellcheck disable=SC2059
printf "$fmt" case server rate DORA/s do_drop% ra_drop% step do_p50 do_p99 ra_p50 ra_p99 dora_p50 dora_p99 srv_rbe cli_rbe rb_KiB cap_drop seeded w_do% w_ra% srv_dora_p99 gap_p99 | tee -a "$results"

# wire_clean_of CASE SERVER: the offered rate of the highest sweep step whose drops on the wire (w_do%, w_ra%) are <= 1 %.
wire_clean_of() { awk -v c="$1" -v s="$2" -v p="$period" '$1 == c && $3 == s && $4 == "sweep" && $16 <= 1 && $17 <= 1 && $2 + 0 >= o + 0 { o = $2; d = $14 } END { printf "%d/s offered (%d DISCOVERs/s sent)", o, d / p }' "$rows"; }
# clean_of CASE SERVER: "OFFERED COMPLETED" of the highest sweep step with both drops <= 1 % ("0 0" when none).
clean_of() { awk -v c="$1" -v s="$2" '$1 == c && $3 == s && $4 == "sweep" && $6 <= 1 && $7 <= 1 && $2 + 0 >= o + 0 { o = $2; d = $5 } END { print o + 0, d + 0 }' "$rows"; }

for c in "${cases[@]}"; do
  step=0
  for r in "${rates[@]}"; do
    step=$((step + 1))
    if [ "${#servers[@]}" = 1 ]; then order=("${servers[@]}"); elif [ $((step % 2)) = 1 ]; then order=(kea provisioner); else order=(provisioner kea); fi
    for s in "${order[@]}"; do run_step "$c" "$s" "$r" "$step" sweep; done
  done
  step=$((step + 1))
  for s in "${servers[@]}"; do
    read -r co _ < <(clean_of "$c" "$s")
    if [ "$co" -gt 0 ]; then run_step "$c" "$s" $((2 * co)) "$step" 2xclean; else echo "  ($c $s: no clean step, no 2 x clean run)" >>"$work/notes.txt"; fi
  done
done

{
  echo
  cat "$work/notes.txt" 2>/dev/null || true
  echo "capture: $(awk '{ c += $6; d += $10 } END { printf "%d packets captured, %d dropped by the kernel", c, d }' "$work/capture.txt")"
  echo
  printf '%-6s %-11s %14s %13s %10s %11s %9s %12s %16s\n' case server clean_offered clean_DORA/s 2x_offered 2x_DORA/s 2x_done% 2x_dora_p99 2x_srv_dora_p99
  for c in "${cases[@]}"; do
    for s in "${servers[@]}"; do
      read -r co cd < <(clean_of "$c" "$s")
      awk -v c="$c" -v s="$s" -v co="$co" -v cd="$cd" '$1 == c && $3 == s && $4 == "2xclean" {
          printf "%-6s %-11s %14s %13s %10s %11s %9.1f %12s %16s\n", c, s, co, cd, $2, $5, ($14 > 0 ? 100 * $15 / $14 : 0), $13, $18 }' "$rows"
    done
    pc=$(clean_of "$c" provisioner | awk '{ print $2 }'); kc=$(clean_of "$c" kea | awk '{ print $2 }')
    if [ "$pc" = 0 ] || [ "$kc" = 0 ]; then
      echo "$c: clean rate Provisioner $pc, Kea $kc DORA/s (0 = no step was clean, i.e. below ${rates[0]}/s): no ratio"
    else
      echo "$c: clean rate Provisioner/Kea = $(ratio "$pc" "$kc") ($pc / $kc completed DORA/s at each one's clean step)"
    fi
    # The same by the wire (w_do%, w_ra% <= 1): what a client with its own CPU would have seen; offered rates.
    pw=$(wire_clean_of "$c" provisioner); kw=$(wire_clean_of "$c" kea)
    echo "$c: on the wire, highest step answered within 1 s for >= 99 % of requests: Provisioner $pw, Kea $kw (0 = none)"
  done
  echo "(clean = the highest sweep step with DISCOVER->OFFER and REQUEST->ACK drops both <= 1 %; 2x = a run at twice that offered rate;"
  echo " 2x_done% = ACKs received / DISCOVERs sent; 2x_dora_p99 = p99 DISCOVER->ACK ms of the completed exchanges, as the client saw it;"
  echo " 2x_srv_dora_p99 = p99 of the server's part of them, DISCOVER->OFFER + REQUEST->ACK: perfdhcp shares the 2 cores and adds its own OFFER->REQUEST gap)"
  echo "logs: $(bench_logs) (BENCH_LOGS)"
  [ -f "$work/kea/kea.log" ] && echo "Kea log lines (severity $(kea_severity)): $(wc -l <"$work/kea/kea.log"), of which WARN or above: $(grep -cE ' (WARN|ERROR|FATAL) ' "$work/kea/kea.log" 2>/dev/null || true)"
  echo "Provisioner log lines: $(wc -l <"$work/provisioner.log"), of which warn/fail/error: $(grep -ciE 'warn|fail|error' "$work/provisioner.log" || true)"
} | tee -a "$results"
echo "results: $results; perfdhcp outputs and server logs: $work"
