#!/usr/bin/env bash
# Node CPU per DHCP step, A/B: how many CPU ticks a fresh node spends during one perfdhcp step, for several builds or
# settings, interleaved. Steadier than throughput on a noisy 2-core machine (a build that is 5 % cheaper shows as 5 %
# fewer ticks at a rate both serve cleanly, while its clean rate moves by a whole step from run to run).
#
#   scripts/bench/dhcp-cpu.sh RATE SECONDS ROUNDS CASE LABEL=BUILD[@ENV] ...
#
#   RATE, SECONDS   the perfdhcp step (new PXE machines or plain clients, as in dhcp.sh; pick a rate every variant serves)
#   ROUNDS          rounds; each runs every variant once, in the order given, each on a fresh node with empty data
#   CASE            new | plain
#   LABEL=BUILD     a published build directory (dotnet publish src/Provisioner.Host -c Release -o DIR), and after @
#                   extra VAR=VALUE words for the node, e.g. base=/tmp/p-base new=/tmp/p-new slow=/tmp/p-new@DOTNET_TieredCompilation=0
#   BENCH_DHCP_PERF=FILE   also `perf record -g` the node of the first run into FILE (PerfMapEnabled, and W^X off so that perf can read JIT frames, for every run),
#                          and print per run how many methods the JIT compiled during the step (from the perf map)
#   BENCH_DHCP_GCLOG=1     also poll the node's last collections (GET /api/v1/node, lastGcs) every 50 ms and print the step's by kind and
#                          generation: pause, promoted bytes, compacting (curl and jq 20 times a second: CPU the node does not get)
#   BENCH_DHCP_GCDUMP=FILE  also take a heap snapshot of the node of the first run 3 s after its step, and print its types by size (dotnet-gcdump)
#   BENCH_DHCP_TRACE=FILE   also trace the runtime's GC events of the node of the first run during its step (dotnet-trace, into FILE.nettrace)
#                          and print what was allocated, by type, and what each collection marked, by kind of root (TraceSummary/)
#
# Per run: the node's user+system ticks from the step's start to its end, the ticks in the 3 s after it (work the step
# left behind, e.g. machines recording their first boots), ACKs, ticks per 1,000 ACKs and perfdhcp's drop line, and the
# collections and pause time of the GC during the step (the node's admin API, GET /api/v1/node); per
# variant the mean of the step ticks. Same namespaces, subnet and socket buffers as dhcp.sh (lib.sh); quiet logging.
source "$(dirname "$0")/lib.sh"
[ $# -ge 5 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
rate=$1; secs=$2; rounds=$3; kase=$4; shift 4
[[ "$rate" =~ ^[0-9]+$ && "$secs" =~ ^[0-9]+$ && "$rounds" =~ ^[0-9]+$ ]] && [ "$secs" -ge 2 ] && [ "$secs" -le 120 ] && [ "$rounds" -le 20 ] \
  || { echo "dhcp-cpu: RATE, SECONDS (2..120) and ROUNDS (..20) are numbers" >&2; exit 2; }
case $kase in new|plain) ;; *) echo "dhcp-cpu: CASE is new or plain" >&2; exit 2 ;; esac
for v in "$@"; do
  build=${v#*=}; build=${build%%@*}
  [ -f "$build/provisioner.dll" ] || { echo "dhcp-cpu: no provisioner.dll in '$build' (from '$v')" >&2; exit 2; }
done
export BENCH_LOGS=quiet
bench_init dhcp 255
for tool in perfdhcp curl jq ${BENCH_DHCP_PERF:+perf}; do command -v "$tool" >/dev/null || { echo "dhcp-cpu: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
rm -rf "$work"; mkdir -p "$work/data" "$work/config" "$work/kea"
write_dhcp_configs 10.64.0.0/12 10.64.0.1 10.75.255.254
net_up
sysctl_set net.core.rmem_default 8388608
[ "$(sysctl -n net.core.rmem_max)" -ge 4194304 ] || sysctl_set net.core.rmem_max 4194304

node_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# node_mem: the node's resident memory now and at its peak (VmRSS, VmHWM), in MiB.
node_mem() { awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { printf "RSS %d MiB, peak %d MiB", r / 1024, h / 1024 }' "/proc/$1/status"; }
# node_view [TIMEOUT_S]: the node's admin view (GET /api/v1/node) as JSON, nothing if it does not answer.
node_view() { ip netns exec "$srv_ns" curl -fsS -m "${1:-2}" http://127.0.0.1:9780/api/v1/node 2>/dev/null; }
# gc_now: "GEN0 GEN1 GEN2 PAUSED_MS" of the node so far (zeros if it does not answer).
gc_now() {
  node_view | jq -r '"\(.gcCollections[0]) \(.gcCollections[1]) \(.gcCollections[2]) \(.gcPausedMs)"' 2>/dev/null || echo 0 0 0 0
}
gcdump=${DOTNET_GCDUMP:-$HOME/.dotnet/tools/dotnet-gcdump}
dotnet_trace=${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}
if [ -n "${BENCH_DHCP_TRACE:-}" ]; then
  [ -x "$dotnet_trace" ] || { echo "dhcp-cpu: BENCH_DHCP_TRACE needs dotnet-trace (dotnet tool install -g dotnet-trace)" >&2; exit 1; }
  dotnet build "$(dirname "$0")/TraceSummary/TraceSummary.csproj" -c Release -o "$work/trace-summary" -nologo -v quiet >/dev/null \
    || { echo "dhcp-cpu: could not build TraceSummary" >&2; exit 1; }
fi
declare -A sum count
step=0
for r in $(seq 1 "$rounds"); do
  for v in "$@"; do
    step=$((step + 1))
    label=${v%%=*}; rest=${v#*=}; build=${rest%%@*}; env=""; [ "$rest" != "$build" ] && env=${rest#*@}
    rm -rf "$work/data"; mkdir -p "$work/data"
    prov_out=$build BENCH_PROVISIONER_ENV="$env ${BENCH_DHCP_PERF:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0}" start_provisioner "$work/provisioner.conf" "$work/provisioner.log"
    node=$(pid_tree "$prov_pid" | while read -r p; do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dotnet ] && echo "$p"; done | head -1)
    [ -n "$node" ] || { echo "dhcp-cpu: no dotnet process under $prov_pid" >&2; exit 1; }
    extra=()
    case $kase in
      new) extra=(-b "mac=02:04:$(printf %02x $((step % 256))):00:00:00" "${pxe_opts[@]}") ;;
      plain) timeout 30 ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r 100 -R 50000 -p 5 "$srv_ip" >/dev/null 2>&1 || true ;;
    esac
    perf_pid=""
    if [ -n "${BENCH_DHCP_PERF:-}" ] && [ "$step" = 1 ]; then
      timeout $((secs + 10)) perf record -F 499 -g -p "$node" -o "$BENCH_DHCP_PERF" -- sleep "$secs" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    trace_pid=""
    if [ -n "${BENCH_DHCP_TRACE:-}" ] && [ "$step" = 1 ]; then
      # GC keyword at verbose level: collections, what each marked by root kind, and an AllocationTick per ~100 KB allocated.
      timeout $((secs + 30)) "$dotnet_trace" collect -p "$node" --providers Microsoft-Windows-DotNETRuntime:0x1:5 \
        --duration "00:00:00:$(printf %02d "$secs")" -o "$BENCH_DHCP_TRACE" </dev/null >/dev/null 2>&1 &
      trace_pid=$!
      sleep 1
    fi
    map=/tmp/perf-$node.map; m0=0; [ -n "${BENCH_DHCP_PERF:-}" ] && [ -f "$map" ] && m0=$(wc -l <"$map")
    # With BENCH_DHCP_GCLOG, every collection during the step, from the node's last one of each kind polled every 50 ms.
    gc_log=$work/gcs.txt; : >"$gc_log"; gc_poll=""
    if [ -n "${BENCH_DHCP_GCLOG:-}" ]; then
      end=$(( $(date +%s) + secs + 2 ))
      while [ "$(date +%s)" -lt "$end" ]; do
        node_view 1 | jq -r '.lastGcs[]? | "\(.index) \(.kind) \(.generation) \(.pausedMs) \(.promotedBytes) \(.compacted)"' 2>/dev/null >>"$gc_log"
        sleep 0.05
      done &
      gc_poll=$!
    fi
    g0=$(gc_now)
    t0=$(node_ticks "$node")
    timeout $((secs + 30)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$rate" -R $((rate * secs + 1000)) -p "$secs" -t "$secs" -W 1000000 "${extra[@]}" "$srv_ip" >"$work/perfdhcp.txt" 2>&1 || true
    t1=$(node_ticks "$node")
    g1=$(gc_now)
    m1=0; [ -n "${BENCH_DHCP_PERF:-}" ] && [ -f "$map" ] && m1=$(wc -l <"$map")
    sleep 3
    t2=$(node_ticks "$node")
    [ -n "$perf_pid" ] && wait "$perf_pid" 2>/dev/null
    if [ -n "$trace_pid" ]; then
      wait "$trace_pid" 2>/dev/null
      dotnet "$work/trace-summary/trace-summary.dll" "$BENCH_DHCP_TRACE" 25 2>&1 | sed 's/^/    /' || echo "  dhcp-cpu: no trace summary"
    fi
    if [ -n "${BENCH_DHCP_GCDUMP:-}" ] && [ "$step" = 1 ]; then
      # A heap snapshot of the node after the step, and its types by size (dotnet-gcdump; `dotnet tool install -g dotnet-gcdump`).
      timeout 120 "$gcdump" collect -p "$node" -o "$BENCH_DHCP_GCDUMP" >/dev/null 2>&1 \
        && timeout 60 "$gcdump" report "$BENCH_DHCP_GCDUMP" 2>/dev/null | head -40 | sed 's/^/    /' \
        || echo "  dhcp-cpu: no heap snapshot (dotnet-gcdump)"
    fi
    if [ "$m1" -gt "$m0" ]; then
      # The perf map lists methods in the order they were compiled: those of the step, by tier and by namespace.
      echo "  methods compiled during the step: $((m1 - m0)) ($map lines $((m0 + 1))-$m1; by tier, then tier 1 by assembly)"
      sed -n "$((m0 + 1)),${m1}p" "$map" | grep -o '\[[A-Za-z0-9]*\]$' | sort | uniq -c | sort -rn | sed 's/^/    /'
      sed -n "$((m0 + 1)),${m1}p" "$map" | grep 'OptimizedTier1\]$' | sed -nE 's/^.* \[([A-Za-z0-9_.]+)\] [^ ]*::.*$/\1/p' | sort | uniq -c | sort -rn | head -12 | sed 's/^/    /'
    fi
    read -r acks _ < <(perfdhcp_stats "$work/perfdhcp.txt")
    printf 'round %d %-10s step ticks %5d  after +3 s %4d  ACKs %6s  ticks/1000 ACKs %5s  [%s]\n' "$r" "$label" $((t1 - t0)) $((t2 - t1)) "${acks:-0}" \
      "$(awk -v t=$((t1 - t0)) -v a="${acks:-0}" 'BEGIN { if (a > 0) printf "%.1f", 1000 * t / a; else print "n/a" }')" "$(grep -m1 '^sent:' "$work/perfdhcp.txt" || echo 'no perfdhcp summary')"
    read -r a0 a1 a2 ap <<<"$g0"; read -r b0 b1 b2 bp <<<"$g1"
    if [ -n "$gc_poll" ]; then
      wait "$gc_poll" 2>/dev/null
      # Collections number from 1, and gen0's count is every collection so far: the step's are a0+1..b0.
      sort -un "$gc_log" | awk -v lo="$a0" -v hi="$b0" '$1 > lo && $1 <= hi {
          k = $2 " gen" $3; n[k]++; p[k] += $4; if ($4 > m[k]) m[k] = $4; pr[k] += $5; c[k] += ($6 == "true"); seen++ }
        END { printf "  collections seen by polling: %d of %d\n", seen, hi - lo
              for (k in n) printf "    %-18s %3d  paused %7.1f ms (max %6.1f)  promoted %6.1f MB each  compacting %d\n", k, n[k], p[k], m[k], pr[k] / n[k] / 1048576, c[k] }'
    fi
    echo "  GC during the step: $((b0 - a0)) gen0, $((b1 - a1)) gen1, $((b2 - a2)) gen2 collections, paused $((bp - ap)) ms; node memory: $(node_mem "$node")"
    sum[$label]=$(( ${sum[$label]:-0} + t1 - t0 )); count[$label]=$(( ${count[$label]:-0} + 1 ))
    stop_pid "$prov_pid"
  done
done
for v in "$@"; do
  label=${v%%=*}
  [ -n "${count[$label]:-}" ] && printf 'mean %-10s step ticks %d over %d runs\n' "$label" $(( sum[$label] / count[$label] )) "${count[$label]}"
  count[$label]=""
done
