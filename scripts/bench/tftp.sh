#!/usr/bin/env bash
# TFTP throughput and concurrency: Provisioner's TFTP server vs tftpd-hpa (in.tftpd) vs atftpd, one run.
#
#   scripts/bench/tftp.sh [RUNS]        (default 3; about 6-8 min on 2 cores)
#
#   BENCH_TFTP_BIG_MIB        size of big.bin in MiB                        (default 30)
#   BENCH_TFTP_CONCURRENCY    concurrent small.bin downloads, one test each  (default "200 2000")
#   BENCH_TFTP_CAPS=1         set Provisioner's transfer caps explicitly (see "Limits"; only once the build has them)
#   BENCH_TFTP_CASES          which measurements to take (default "cold lockstep lock512 w8 w32 conc"); the others
#                             print "-". E.g. BENCH_TFTP_CASES="lockstep lock512" for a quick lock-step A/B.
#   BENCH_TFTP_BASELINE=DIR   also run the provisioner build in DIR (e.g. one built from an older commit with
#                             BENCH_PROVISIONER=DIR) as a fourth server, "baseline", interleaved with the others, so an
#                             A/B of two builds and both peers share one run and its noise (ratios printed for it too).
#
# Topology (created and deleted by name here): namespace pvb-tftp-srv with bridge br0 10.78.31.1/24,
# namespace pvb-tftp-cli with eth0 10.78.31.2/24 on a veth pair into br0. One server at a time listens on
# 10.78.31.1:69 in the server namespace; the clients run in the client namespace. Servers are interleaved:
# every run starts each server afresh, in a rotated order.
#
# Files: big.bin = 30 MiB of random bytes, small.bin = copy of /usr/lib/ipxe/undionly.kpxe (~70 KB, an NBP).
# Per server per run:
#   cold       curl --tftp-blksize 1468 tftp://.../big.bin, the first big transfer after the server started
#   lockstep   the same again, warm (the figure the ratio uses)                         (MB/s, 1 MB = 10^6 B)
#   lock512    curl --tftp-blksize 512 (512-byte blocks, what a ROM without blksize gets; 61,440 blocks, no rollover)
#   w8, w32    atftp --option "blksize 1468" --option "windowsize 8|32" -g -r big.bin  (MB/s; atftp 0.8 has RFC 7440)
#   cN         N concurrent downloads of small.bin with blksize 1468 (wall seconds from the first start to the last
#              end, and failures). Real machines each have their own address, so the client namespace's eth0 also
#              holds 10.78.31.3 - 10.78.31.252 (250 addresses): N clients are spread round-robin over min(N, 250)
#              of them, one curl process per address (curl --interface ADDR --parallel --parallel-max K with its K
#              URLs: 200 -> 200 addresses x 1, 2000 -> 250 addresses x 8), each transfer bounded by --max-time 120.
#              Also printed per round: the server's CPU seconds (utime+stime, with reaped children, of every process
#              in the server namespace) during it; a forked child counts once reaped (tftpd-hpa's may not be yet). With
#              the clients on the same cores, wall time follows total CPU.
# Every download is compared with the served file (cmp); a non-identical or failed transfer is a failure.
# Ratios use the medians: Provisioner/tftpd-hpa for lockstep, Provisioner/atftpd for windowed.
# tftpd-hpa and atftpd come from their .debs unpacked under /tmp/bench-debs (nothing installed system-wide).
#
# Limits (the same for each server where the server has the knob): atftpd --maxthread 2048 (its default of 100
# threads would fail the concurrent tests), the global cap Provisioner is getting (provisioner.edge.tftp.max-transfers,
# default about 2048); tftpd-hpa has no cap (a process per transfer). Neither peer has a per-client cap
# (Provisioner's max-transfers-per-client, default about 8: the 2000-client test stays at 8 per address so that it
# does not trip it). Provisioner runs with its defaults; BENCH_TFTP_CAPS=1 writes the two keys explicitly (marked
# place below) and refuses to when the build's hocon/defaults.conf does not know them (an unknown key would be
# silently ignored, and the run would claim a cap that is not there).
source "$(dirname "$0")/lib.sh"

runs=${1:-3}
big_mib=${BENCH_TFTP_BIG_MIB:-30}
concs=(${BENCH_TFTP_CONCURRENCY:-200 2000})
cases=" ${BENCH_TFTP_CASES:-cold lockstep lock512 w8 w32 conc} "
for c in $cases; do case $c in cold|lockstep|lock512|w8|w32|conc) ;; *) echo "tftp bench: unknown case '$c' in BENCH_TFTP_CASES" >&2; exit 2 ;; esac; done
want() { [[ "$cases" == *" $1 "* ]]; }
baseline=${BENCH_TFTP_BASELINE:-}
[ -z "$baseline" ] || [ -f "$baseline/provisioner.dll" ] || { echo "tftp bench: BENCH_TFTP_BASELINE=$baseline has no provisioner.dll" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] && [ "$runs" -le 20 ] || { echo "tftp bench: RUNS must be 1..20" >&2; exit 2; }
[[ "$big_mib" =~ ^[0-9]+$ ]] && [ "$big_mib" -ge 1 ] && [ "$big_mib" -le 31 ] || { echo "tftp bench: BENCH_TFTP_BIG_MIB must be 1..31 (512-byte blocks must not roll over)" >&2; exit 2; }
for n in "${concs[@]}"; do [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 2000 ] || { echo "tftp bench: concurrency must be 1..2000" >&2; exit 2; }; done
bench_init tftp 31

for tool in curl atftp cmp timeout; do command -v "$tool" >/dev/null || { echo "tftp bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
[ -f /usr/lib/ipxe/undionly.kpxe ] || { echo "tftp bench: /usr/lib/ipxe/undionly.kpxe missing (apt-get install ipxe)" >&2; exit 1; }

# --- peer servers from their .debs ----------------------------------------------------------------------
debs=/tmp/bench-debs
if [ ! -x "$debs/root/usr/sbin/in.tftpd" ] || [ ! -x "$debs/root/usr/sbin/atftpd" ]; then
  mkdir -p "$debs"
  (cd "$debs" && { timeout 120 apt-get download tftpd-hpa libwrap0 atftpd \
    || { timeout 300 apt-get update -qq && timeout 120 apt-get download tftpd-hpa libwrap0 atftpd; }; })
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$debs/root"; done
fi
peer_env=(env "LD_LIBRARY_PATH=$debs/root/usr/lib/x86_64-linux-gnu:$debs/root/lib/x86_64-linux-gnu")
build_provisioner

# --- files ---------------------------------------------------------------------------------------------
rm -rf "$work"; mkdir -p "$work/root" "$work/out" "$work/data"
chmod 755 "$work" "$work/root"
head -c $((big_mib * 1024 * 1024)) /dev/urandom >"$work/root/big.bin"
cp /usr/lib/ipxe/undionly.kpxe "$work/root/small.bin"
chmod 644 "$work/root/"*.bin
big_bytes=$(stat -c %s "$work/root/big.bin")
small_bytes=$(stat -c %s "$work/root/small.bin")

# >>> Provisioner TFTP transfer caps (another change adds them): set here, explicitly, once the build knows them.
tftp_caps=""
if [ "${BENCH_TFTP_CAPS:-0}" = 1 ]; then
  grep -q 'max-transfers-per-client' "$prov_out/hocon/defaults.conf" \
    || { echo "tftp bench: BENCH_TFTP_CAPS=1 but this build has no tftp.max-transfers-per-client" >&2; exit 1; }
  tftp_caps=', max-transfers = 2048, max-transfers-per-client = 8'
fi
# <<<
write_node_conf "$work/provisioner.conf" '    dhcp.enabled = off
    http.enabled = off
    tftp { enabled = on, root = "'"$work/root"'", nbp-source = "'"$work/root"'"'"$tftp_caps"' }'

net_up
# 250 more client addresses (see the header), added in one batch.
for i in $(seq 3 252); do echo "addr add $net_prefix.$i/24 dev eth0"; done >"$work/addrs.batch"
ip -n "$cli_ns" -batch "$work/addrs.batch"

# --- servers -------------------------------------------------------------------------------------------
server_pid=""
start_server() {
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.$2.log"
      server_pid=$prov_pid ;;
    baseline)
      local own=$prov_out
      prov_out=$baseline
      start_provisioner "$work/provisioner.conf" "$work/baseline.$2.log"
      prov_out=$own
      server_pid=$prov_pid ;;
    tftpd-hpa)
      start_in "$srv_ns" 3600 "$work/tftpd-hpa.$2.log" "${peer_env[@]}" "$debs/root/usr/sbin/in.tftpd" -L -u nobody -s "$work/root" -a "$srv_ip:69"
      server_pid=$last_pid ;;
    atftpd)
      start_in "$srv_ns" 3600 "$work/atftpd.$2.log" "${peer_env[@]}" "$debs/root/usr/sbin/atftpd" --daemon --no-fork \
        --bind-address "$srv_ip" --port 69 --user nobody --group nogroup --maxthread 2048 --logfile - "$work/root"
      server_pid=$last_pid ;;
  esac
  # ready when a client can fetch the small file
  for _ in $(seq 1 50); do
    ip netns exec "$cli_ns" timeout 5 curl -sS -m 3 "tftp://$srv_ip/small.bin" -o "$work/out/probe" 2>/dev/null \
      && cmp -s "$work/out/probe" "$work/root/small.bin" && return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "tftp bench: $1 exited" >&2; return 1; }
    sleep 0.2
  done
  echo "tftp bench: $1 never served small.bin" >&2
  return 1
}

# timed_get OUT CMD...: runs CMD in the client namespace (bounded), prints MB/s, or "fail" on error / mismatch.
timed_get() {
  local out=$1; shift
  rm -f "$out"
  local t0 t1
  t0=$(now)
  if ! (cd "$work/out" && timeout 120 ip netns exec "$cli_ns" "$@" >"$out.log" 2>&1); then echo fail; return; fi
  t1=$(now)
  cmp -s "$out" "$work/root/big.bin" || { echo fail; return; }
  awk -v b="$big_bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / (z - a) / 1e6 }'
}

# concurrent N: N simultaneous downloads of small.bin from min(N, 250) source addresses; prints "SECONDS FAILURES".
concurrent() {
  local n=$1 dir="$work/out/conc"
  rm -rf "$dir"; mkdir -p "$dir"
  timeout 300 ip netns exec "$cli_ns" bash -c '
    dir=$1; ip=$2; n=$3; prefix=$4
    addrs=$(( n < 250 ? n : 250 )); per=$(( (n + addrs - 1) / addrs ))
    t0=$(date +%s.%N)
    for a in $(seq 0 $((addrs - 1))); do
      args=()
      for ((i = a; i < n; i += addrs)); do args+=(-o "$dir/s$i" "tftp://$ip/small.bin"); done
      curl -sS --max-time 120 --tftp-blksize 1468 --interface "$prefix.$((3 + a))" --parallel --parallel-max "$per" "${args[@]}" 2>"$dir/a$a.err" &
    done
    wait
    t1=$(date +%s.%N)
    awk -v a="$t0" -v z="$t1" "BEGIN { printf \"%.2f\", z - a }" >"$dir/elapsed"
  ' _ "$dir" "$srv_ip" "$n" "$net_prefix" || true
  local fails=0 i
  for ((i = 0; i < n; i++)); do cmp -s "$dir/s$i" "$work/root/small.bin" || fails=$((fails + 1)); done
  if [ "$fails" -gt 0 ]; then
    { echo "$n concurrent, $fails failed:"; cat "$dir"/*.err 2>/dev/null | sed -E 's/[0-9]+ ms/N ms/g' | sort | uniq -c | sort -rn | head -5; } >>"$work/conc-errors.txt"
  fi
  echo "$(cat "$dir/elapsed" 2>/dev/null || echo n/a) $fails"
}

servers=(provisioner tftpd-hpa atftpd)
[ -z "$baseline" ] || servers+=(baseline)
want conc || concs=()
declare -A cold_ lock l512 w8 w32 csec cfail
results="$work/results.txt"
: >"$work/conc-errors.txt"
cols=(run server cold lockstep lock512 w8 w32)
for n in "${concs[@]}"; do cols+=("c${n}_s" "c${n}_fail"); done
row() { printf '%-4s %-12s' "$1" "$2"; shift 2; printf ' %9s' "$@"; printf '\n'; }
echo "big.bin $big_bytes bytes, small.bin $small_bytes bytes, concurrent ${concs[*]}, $runs runs, server $srv_ip (ns $srv_ns), clients ns $cli_ns (+250 addresses)" | tee "$results"
row "${cols[@]}" | tee -a "$results"
for run in $(seq 1 "$runs"); do
  for k in $(seq 0 $(( ${#servers[@]} - 1 ))); do
    s=${servers[$(( (run - 1 + k) % ${#servers[@]} ))]}
    start_server "$s" "$run"
    cold=- l=- l5=- a8=- a32=-
    # The cold transfer always runs (unless skipped its place is taken by a warm-up of the same size): the
    # lockstep figures are of a warm server either way.
    cold=$(timed_get "$work/out/big.curl" curl -sS --max-time 110 --tftp-blksize 1468 "tftp://$srv_ip/big.bin" -o "$work/out/big.curl")
    want cold || cold=-
    want lockstep && l=$(timed_get "$work/out/big.curl" curl -sS --max-time 110 --tftp-blksize 1468 "tftp://$srv_ip/big.bin" -o "$work/out/big.curl")
    want lock512 && l5=$(timed_get "$work/out/big.curl" curl -sS --max-time 110 --tftp-blksize 512 "tftp://$srv_ip/big.bin" -o "$work/out/big.curl")
    want w8 && a8=$(timed_get "$work/out/big.w8" atftp --option "blksize 1468" --option "windowsize 8" -g -r big.bin -l "$work/out/big.w8" "$srv_ip")
    want w32 && a32=$(timed_get "$work/out/big.w32" atftp --option "blksize 1468" --option "windowsize 32" -g -r big.bin -l "$work/out/big.w32" "$srv_ip")
    vals=("$cold" "$l" "$l5" "$a8" "$a32")
    for n in "${concs[@]}"; do
      c0=$(ns_cpu_ticks "$srv_ns")
      read -r cs cf < <(concurrent "$n")
      echo "run $run: $s c$n wall $cs s, server CPU $(awk -v t=$(( $(ns_cpu_ticks "$srv_ns") - c0 )) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s" >>"$work/conc-cpu.txt"
      csec[$s.$n]+="$cs "; cfail[$s.$n]=$(( ${cfail[$s.$n]:-0} + cf ))
      vals+=("$cs" "$cf")
    done
    echo "run $run: $s RSS after the transfers (all processes in $srv_ns): $(ns_rss "$srv_ns") kB" >>"$work/rss.txt"
    stop_pid "$server_pid"
    for pid in $(ns_pids "$srv_ns"); do kill "$pid" 2>/dev/null || true; done   # in.tftpd's forked children, if any
    cold_[$s]+="$cold "; lock[$s]+="$l "; l512[$s]+="$l5 "; w8[$s]+="$a8 "; w32[$s]+="$a32 "
    row "$run" "$s" "${vals[@]}" | tee -a "$results"
  done
done

# best A B: the larger of two medians ("n/a" ignored)
best() { printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g | tail -1; }

# shellcheck disable=SC2086
{
  echo
  echo "medians over $runs runs (MB/s; cN_s = wall seconds for N x small.bin; cN_fail = failed or non-identical, all runs)"
  row "" "${cols[@]:1}"
  for s in "${servers[@]}"; do
    vals=("$(median ${cold_[$s]})" "$(median ${lock[$s]})" "$(median ${l512[$s]})" "$(median ${w8[$s]})" "$(median ${w32[$s]})")
    for n in "${concs[@]}"; do vals+=("$(median ${csec[$s.$n]})" "${cfail[$s.$n]}"); done
    row "" "$s" "${vals[@]}"
  done
  echo
  for p in provisioner ${baseline:+baseline}; do
    [ "$p" = provisioner ] && name=Provisioner || name=baseline
    echo
    echo "ratio cold       $name/tftpd-hpa = $(ratio "$(median ${cold_[$p]})" "$(median ${cold_[tftpd-hpa]})")"
    echo "ratio lockstep   $name/tftpd-hpa = $(ratio "$(median ${lock[$p]})" "$(median ${lock[tftpd-hpa]})"), $name/atftpd = $(ratio "$(median ${lock[$p]})" "$(median ${lock[atftpd]})"), $name/best peer = $(ratio "$(median ${lock[$p]})" "$(best "$(median ${lock[tftpd-hpa]})" "$(median ${lock[atftpd]})")")"
    echo "ratio lock512    $name/tftpd-hpa = $(ratio "$(median ${l512[$p]})" "$(median ${l512[tftpd-hpa]})"), $name/atftpd = $(ratio "$(median ${l512[$p]})" "$(median ${l512[atftpd]})"), $name/best peer = $(ratio "$(median ${l512[$p]})" "$(best "$(median ${l512[tftpd-hpa]})" "$(median ${l512[atftpd]})")")"
    echo "ratio w8         $name/atftpd    = $(ratio "$(median ${w8[$p]})" "$(median ${w8[atftpd]})")"
    echo "ratio w32        $name/atftpd    = $(ratio "$(median ${w32[$p]})" "$(median ${w32[atftpd]})")"
    for n in "${concs[@]}"; do
      echo "ratio c$n time  $name/tftpd-hpa = $(ratio "$(median ${csec[$p.$n]})" "$(median ${csec[tftpd-hpa.$n]})"), $name/atftpd = $(ratio "$(median ${csec[$p.$n]})" "$(median ${csec[atftpd.$n]})")  (lower is faster)"
    done
  done
  echo "Provisioner transfer caps: ${tftp_caps:-its defaults (none set by the bench)}; atftpd --maxthread 2048; tftpd-hpa none"
  cat "$work/rss.txt" 2>/dev/null || true
  cat "$work/conc-cpu.txt" 2>/dev/null || true
  if [ -s "$work/conc-errors.txt" ]; then echo "client errors seen in the concurrent tests:"; cat "$work/conc-errors.txt"; fi
} | tee -a "$results"
rm -f "$work/root/big.bin" "$work/out/"big.* ; rm -rf "$work/out/conc"
echo "results: $results; server logs: $work/*.log"
