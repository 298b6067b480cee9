#!/usr/bin/env bash
# TFTP throughput and concurrency: Provisioner's TFTP server vs tftpd-hpa (in.tftpd) vs atftpd, one run.
#
#   scripts/bench/tftp.sh [RUNS]        (default 3; about 3-4 min on 2 cores)
#
# Topology (created and deleted by name here): namespace pvb-tftp-srv with bridge br0 10.78.31.1/24,
# namespace pvb-tftp-cli with eth0 10.78.31.2/24 on a veth pair into br0. One server at a time listens on
# 10.78.31.1:69 in the server namespace; the clients run in the client namespace. Servers are interleaved:
# every run starts each server afresh, in a rotated order.
#
# Files: big.bin = 30 MiB of random bytes, small.bin = copy of /usr/lib/ipxe/undionly.kpxe (~70 KB).
# Per server per run:
#   cold       curl --tftp-blksize 1468 tftp://.../big.bin, the first big transfer after the server started
#   lockstep   the same again, warm (the figure the ratio uses)                         (MB/s, 1 MB = 10^6 B)
#   w8, w32    atftp --option "blksize 1468" --option "windowsize 8|32" -g -r big.bin  (MB/s)
#   conc       200 concurrent curl --tftp-blksize 1468 of small.bin                     (wall seconds, failures)
# Every download is compared with the served file (cmp); a non-identical or failed transfer is a failure.
# Ratios use the medians: Provisioner/tftpd-hpa for lockstep, Provisioner/atftpd for windowed.
# tftpd-hpa and atftpd come from their .debs unpacked under /tmp/bench-debs (nothing installed system-wide).
# atftpd runs with --maxthread 300 so that its default of 100 threads does not fail the 200-client test.
source "$(dirname "$0")/lib.sh"

runs=${1:-3}
bench_init tftp 31
conc=${BENCH_TFTP_CONCURRENCY:-200}

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
head -c $((30 * 1024 * 1024)) /dev/urandom >"$work/root/big.bin"
cp /usr/lib/ipxe/undionly.kpxe "$work/root/small.bin"
chmod 644 "$work/root/"*.bin
big_bytes=$(stat -c %s "$work/root/big.bin")
small_bytes=$(stat -c %s "$work/root/small.bin")

write_node_conf "$work/provisioner.conf" '    dhcp.enabled = off
    http.enabled = off
    tftp { enabled = on, root = "'"$work/root"'", nbp-source = "'"$work/root"'" }'

net_up

# --- servers -------------------------------------------------------------------------------------------
server_pid=""
start_server() {
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.$2.log"
      server_pid=$prov_pid ;;
    tftpd-hpa)
      start_in "$srv_ns" 3600 "$work/tftpd-hpa.$2.log" "${peer_env[@]}" "$debs/root/usr/sbin/in.tftpd" -L -u nobody -s "$work/root" -a "$srv_ip:69"
      server_pid=$last_pid ;;
    atftpd)
      start_in "$srv_ns" 3600 "$work/atftpd.$2.log" "${peer_env[@]}" "$debs/root/usr/sbin/atftpd" --daemon --no-fork \
        --bind-address "$srv_ip" --port 69 --user nobody --group nogroup --maxthread 300 --logfile - "$work/root"
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

# concurrent: $conc simultaneous curl downloads of small.bin; prints "SECONDS FAILURES".
concurrent() {
  local dir="$work/out/conc"
  rm -rf "$dir"; mkdir -p "$dir"
  timeout 300 ip netns exec "$cli_ns" bash -c '
    dir=$1; ip=$2; n=$3
    t0=$(date +%s.%N)
    for i in $(seq 1 "$n"); do
      ( curl -sS --max-time 60 --tftp-blksize 1468 "tftp://$ip/small.bin" -o "$dir/s$i" 2>"$dir/s$i.err"; echo $? >"$dir/s$i.rc" ) &
    done
    wait
    t1=$(date +%s.%N)
    awk -v a="$t0" -v z="$t1" "BEGIN { printf \"%.2f\", z - a }" >"$dir/elapsed"
  ' _ "$dir" "$srv_ip" "$conc" || true
  local fails=0 i
  for i in $(seq 1 "$conc"); do
    if [ "$(cat "$dir/s$i.rc" 2>/dev/null)" != 0 ] || ! cmp -s "$dir/s$i" "$work/root/small.bin"; then fails=$((fails + 1)); fi
  done
  [ "$fails" -gt 0 ] && cat "$dir"/*.err 2>/dev/null | sort | uniq -c | head -5 >>"$work/conc-errors.txt"
  echo "$(cat "$dir/elapsed" 2>/dev/null || echo n/a) $fails"
}

servers=(provisioner tftpd-hpa atftpd)
declare -A cold_ lock w8 w32 csec cfail
results="$work/results.txt"
echo "big.bin $big_bytes bytes, small.bin $small_bytes bytes, $conc concurrent, $runs runs, server $srv_ip (ns $srv_ns), clients ns $cli_ns" | tee "$results"
printf '%-4s %-12s %10s %10s %10s %10s %10s %8s\n' run server cold lockstep w8 w32 conc_s conc_fail | tee -a "$results"
for run in $(seq 1 "$runs"); do
  for k in 0 1 2; do
    s=${servers[$(( (run - 1 + k) % 3 ))]}
    start_server "$s" "$run"
    cold=$(timed_get "$work/out/big.curl" curl -sS --max-time 110 --tftp-blksize 1468 "tftp://$srv_ip/big.bin" -o "$work/out/big.curl")
    l=$(timed_get "$work/out/big.curl" curl -sS --max-time 110 --tftp-blksize 1468 "tftp://$srv_ip/big.bin" -o "$work/out/big.curl")
    a8=$(timed_get "$work/out/big.w8" atftp --option "blksize 1468" --option "windowsize 8" -g -r big.bin -l "$work/out/big.w8" "$srv_ip")
    a32=$(timed_get "$work/out/big.w32" atftp --option "blksize 1468" --option "windowsize 32" -g -r big.bin -l "$work/out/big.w32" "$srv_ip")
    read -r cs cf < <(concurrent)
    echo "run $run: $s RSS after the transfers (all processes in $srv_ns): $(ns_rss "$srv_ns") kB" >>"$work/rss.txt"
    stop_pid "$server_pid"
    for pid in $(ns_pids "$srv_ns"); do kill "$pid" 2>/dev/null || true; done   # in.tftpd's forked children, if any
    cold_[$s]+="$cold "; lock[$s]+="$l "; w8[$s]+="$a8 "; w32[$s]+="$a32 "; csec[$s]+="$cs "; cfail[$s]=$(( ${cfail[$s]:-0} + cf ))
    printf '%-4s %-12s %10s %10s %10s %10s %10s %8s\n' "$run" "$s" "$cold" "$l" "$a8" "$a32" "$cs" "$cf" | tee -a "$results"
  done
done

# shellcheck disable=SC2086
{
  echo
  echo "medians over $runs runs (MB/s; conc = wall seconds for $conc x small.bin; fail = failed or non-identical, all runs)"
  printf '%-12s %10s %10s %10s %10s %10s %8s\n' server cold lockstep w8 w32 conc_s fail
  for s in "${servers[@]}"; do
    printf '%-12s %10s %10s %10s %10s %10s %8s\n' "$s" "$(median ${cold_[$s]})" "$(median ${lock[$s]})" "$(median ${w8[$s]})" "$(median ${w32[$s]})" "$(median ${csec[$s]})" "${cfail[$s]}"
  done
  echo
  echo "ratio cold       Provisioner/tftpd-hpa = $(ratio "$(median ${cold_[provisioner]})" "$(median ${cold_[tftpd-hpa]})")"
  echo "ratio lockstep   Provisioner/tftpd-hpa = $(ratio "$(median ${lock[provisioner]})" "$(median ${lock[tftpd-hpa]})")"
  echo "ratio w8         Provisioner/atftpd    = $(ratio "$(median ${w8[provisioner]})" "$(median ${w8[atftpd]})")"
  echo "ratio w32        Provisioner/atftpd    = $(ratio "$(median ${w32[provisioner]})" "$(median ${w32[atftpd]})")"
  echo "ratio conc time  Provisioner/tftpd-hpa = $(ratio "$(median ${csec[provisioner]})" "$(median ${csec[tftpd-hpa]})")  (lower is faster)"
  echo "ratio conc time  Provisioner/atftpd    = $(ratio "$(median ${csec[provisioner]})" "$(median ${csec[atftpd]})")  (lower is faster)"
  cat "$work/rss.txt" 2>/dev/null || true
  [ -s "$work/conc-errors.txt" ] && { echo "client errors seen in the concurrent test:"; cat "$work/conc-errors.txt"; }
} | tee -a "$results"
rm -f "$work/root/big.bin" "$work/out/"big.* ; rm -rf "$work/out/conc"
echo "results: $results; server logs: $work/*.log"
