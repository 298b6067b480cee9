#!/usr/bin/env bash
# Issue 10, the cluster benchmark: machines fully provisioned per second by `provisioner simulate`, one node (SQLite)
# vs three core nodes (PostgreSQL) and an edge on this same machine; how long a `kill -9` of a core takes to heal;
# how long `machine list` takes right after the storm and after a full restart; resident memory and CPU per process.
#
#   scripts/bench/cluster.sh          (as root; about 10-15 min with the defaults on 2 cores, plus the build)
#
# Knobs (environment):
#   BENCH_CLUSTER_MACHINES   machines each case's storm boots (10000)
#   BENCH_CLUSTER_RATE       machines powered on per second (simulate --rate; 200: above what either set-up
#                            completes here, so both run at their own capacity, held back by IN_FLIGHT)
#   BENCH_CLUSTER_IN_FLIGHT  machines booting at once at most (simulate --in-flight; 200)
#   BENCH_CLUSTER_CASES      "single cluster" (either alone works; the ratio needs both)
#   BENCH_CLUSTER_SAMPLE     machines whose host is looked up and which are timed after the kill -9 (60)
#   BENCH_CLUSTER_LIST_TOTAL machines in the cluster's journal for the list after a full restart (100000): the
#                            storm's N plus new PXE machines that only DHCP (perfdhcp, below); 0 = the storm's N only
#   BENCH_CLUSTER_SEED_RATE  perfdhcp DORA/s for those (300)
#   BENCH_CLUSTER_ADMIN_CHECK=1  also pass --admin to the simulator (every machine read back one by one; off by
#                            default because it takes longer than the storm at 10,000: the list check below covers it)
#   BENCH_PROVISIONER, BENCH_REBUILD, BENCH_LOGS, BENCH_PROVISIONER_ENV as in lib.sh (build: /tmp/bench-provisioner-cluster)
#
# Topology (created and deleted by name here, lib.sh): namespace pvb-cluster-srv with bridge br0 10.78.40.1/24,
# namespace pvb-cluster-cli with eth0 10.78.40.2/24 on a veth pair into br0. The machines sit behind a relay on
# 10.90.0.0/16: the client namespace holds that whole /16 as local addresses (`ip route add local … dev lo`), so the
# simulator is the relay agent at 10.90.0.1 and every machine sends its TFTP and HTTP from the address it was ACKed;
# the server namespace routes 10.90.0.0/16 back through 10.78.40.2 (as tests/…/Simulate/SimulateTests.cs does).
# Every server runs in the server namespace; the simulator and perfdhcp in the client namespace.
#
# Both cases serve the same thing: subnet "sim" 10.90.0.0/16 (pool 10.90.1.1 - 10.90.255.254, lease 1 h, chosen by
# giaddr 10.90.0.1) and subnet "seed" 10.64.0.0/12 (holds perfdhcp's giaddr 10.78.40.2; pool 10.64.0.1 -
# 10.75.255.254); profile "sim" for every machine (kernel 256 KiB and initrd 1 MiB of random bytes from the node's
# assets dir, a kickstart whose %post phones home), undionly.kpxe over TFTP (staged from /usr/lib/ipxe), admin API
# on 0.0.0.0 with a token. Bench-only setting: deadlines.discovered = 2h (the list's seed machines only DHCP; with
# the shipped 5 min they would start timing out during the measurement). Everything else as shipped.
#   single   one node: include "single-node.conf" (core + edge, embedded SQLite), admin :9780.
#   cluster  PostgreSQL (scripts/lab/postgres.sh with PG_DURABLE=1: fsync and synchronous commit on, as SQLite's
#            journal is durable) on the server namespace's loopback; core nodes 1-3 (include "core.conf", Akka on
#            127.0.0.1:4061-4063, every core a seed, admin :9781-9783) and one edge (include "edge.conf", Akka
#            127.0.0.1:4071, admin :9791, DHCP/TFTP/HTTP on br0). Cluster traffic stays on that loopback.
#
# Per case:
#   storm    `provisioner simulate --dhcp-server 10.78.40.1 --relay-address 10.90.0.1 --machines N --rate R
#            --in-flight F -o json` from the client namespace: machines/s (completed / wall), completed, failed,
#            p50/p99 of the whole boot. CPU over the simulator's lifetime per process (utime+stime of each node's PID,
#            of every postgres process incl. reaped backends, of the simulator), and the machine's own busy share
#            (/proc/stat), so what limited the run is named. RSS (VmRSS, VmHWM) per node after the storm.
#   list     right after the storm: seconds until `GET /api/v1/machines` (what `machine list -o json` calls) is
#            caughtUp with N machines, all Installed (this is also the check that every machine was recorded
#            Installed); then the call's own time (median of 3, curl) and the CLI's (`provisioner machine list
#            -o json`, one call, includes the CLI's start). Cluster: asked of core 1 and of the edge.
#   kill     (cluster) the core hosting the most of BENCH_CLUSTER_SAMPLE machines (`GET …/machines/MAC/where`) gets
#            kill -9; then, polled from another core: seconds until each sampled machine it hosted answers
#            `GET …/machines/MAC` (machine show) as Installed (its actor recovered on a survivor from PostgreSQL),
#            until `cluster show` lists it unreachable and until it is removed. Restarted: seconds until it is
#            healthy and every member is Up with nothing unreachable.
#   seed     (cluster, BENCH_CLUSTER_LIST_TOTAL > N) perfdhcp -4 -l 10.78.40.2 relays DORAs of new PXE machines
#            (option 60 PXEClient, 93 = 0; base MAC 00:0c:0a:00:00:00) to the edge: each is a real machine,
#            recorded by its actor through the same path as the storm's first DHCP (Discovered with its lease), so
#            the directory holds real rows; only DHCP, not the full boot (simulating 100,000 full boots would take
#            an hour here).
#   restart  every node stopped (TERM) and started again (single: the one node; cluster: cores 1-3 then the edge,
#            PostgreSQL keeps running): seconds from the first start until every node is healthy, until the list
#            is caughtUp with every machine, and the list call's own time then.
# Summary: cluster/single machines/s in this run, the kill -9 and list figures, RSS per node, and the busiest process.
BENCH_PROVISIONER="${BENCH_PROVISIONER:-/tmp/bench-provisioner-cluster}"
source "$(dirname "$0")/lib.sh"

machines=${BENCH_CLUSTER_MACHINES:-10000}
rate=${BENCH_CLUSTER_RATE:-200}
in_flight=${BENCH_CLUSTER_IN_FLIGHT:-200}
cases=${BENCH_CLUSTER_CASES:-single cluster}
sample=${BENCH_CLUSTER_SAMPLE:-60}
list_total=${BENCH_CLUSTER_LIST_TOTAL:-100000}
seed_rate=${BENCH_CLUSTER_SEED_RATE:-300}
token=cluster-bench-token
[[ "$machines" =~ ^[0-9]+$ ]] && [ "$machines" -ge 10 ] && [ "$machines" -le 60000 ] || { echo "cluster bench: BENCH_CLUSTER_MACHINES must be 10..60000" >&2; exit 2; }
[ "$list_total" -le 700000 ] || { echo "cluster bench: BENCH_CLUSTER_LIST_TOTAL at most 700000 (the seed pool)" >&2; exit 2; }
for c in $cases; do [[ "$c" =~ ^(single|cluster)$ ]] || { echo "cluster bench: unknown case '$c' (single, cluster)" >&2; exit 2; }; done

bench_init cluster 40
for tool in curl jq timeout runuser perfdhcp; do command -v "$tool" >/dev/null || { echo "cluster bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
build_provisioner
hz=$(getconf CLK_TCK)

pg_dir="$work/pg"
pg_started=0
cluster_cleanup() {
  # PostgreSQL first (fast shutdown), then lib.sh's cleanup: recorded PIDs, whatever is left in our namespaces, the
  # namespaces. The database files go too (the logs stay in $work).
  # This script's own children first (pollers, and a `< <(…)` loop that a TERM would otherwise leave running with the
  # lock held), by PID.
  local p
  for p in $(pgrep -P $$); do kill "$p" 2>/dev/null || true; done
  if [ "$pg_started" = 1 ]; then
    ip netns exec "$srv_ns" "$bench_root/scripts/lab/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  fi
  bench_cleanup
  rm -rf "$pg_dir/data"
}
trap cluster_cleanup EXIT

rm -rf "$work"; mkdir -p "$work"
net_up
sim_net=10.90.0.0/16
relay=10.90.0.1
ip -n "$cli_ns" route add local "$sim_net" dev lo
ip -n "$srv_ns" route add "$sim_net" via "$cli_ip"
subnets="{ id = sim, network = \"$sim_net\", pool-start = \"10.90.1.1\", pool-end = \"10.90.255.254\", router = \"$relay\", lease-time = 1h }
        { id = seed, network = \"10.64.0.0/12\", pool-start = \"10.64.0.1\", pool-end = \"10.75.255.254\", router = \"$cli_ip\", lease-time = 1h }"

results="$work/results.txt"
: >"$results"
say() { echo "$*" | tee -a "$results"; }
t_begin=$(now)

# ---------------------------------------------------------------- helpers
mac_of() { local i=$1; printf '52:54:01:%02x:%02x:%02x' $(((i >> 16) & 255)) $(((i >> 8) & 255)) $((i & 255)); }
elapsed() { awk -v a="$1" -v z="$(now)" 'BEGIN { printf "%.1f", z - a }'; }

# api PORT PATH [CURL ARGS...]: the admin API of the node on PORT (inside the server namespace), with the token.
api() { local port=$1 path=$2; shift 2; ip netns exec "$srv_ns" curl -fsS -m 60 -H "Authorization: Bearer $token" "$@" "http://127.0.0.1:$port/api/v1/$path"; }

# A node's site directory: data, the sim profile, its assets and TFTP root.
prepare_node_dir() {
  local dir=$1
  mkdir -p "$dir/data" "$dir/config/profiles" "$dir/assets/sim" "$dir/tftp"
  head -c $((256 * 1024)) /dev/urandom >"$dir/assets/sim/vmlinuz"
  head -c $((1024 * 1024)) /dev/urandom >"$dir/assets/sim/initrd.img"
  cat >"$dir/config/profiles/sim.profile" <<'EOF'
description = boot-storm simulator: small fake kernel and initrd
kernel = sim/vmlinuz
initrd = sim/initrd.img
repo-url = http://example.invalid/os
kickstart = sim.ks
root-password-hash = $6$sim$sim
EOF
  printf '# {{mac}}\ntext\n%%post\ncurl -fsS {{phone_home_url}}\n%%end\n' >"$dir/config/profiles/sim.ks"
  echo "default sim" >"$dir/config/rules.conf"
}

# edge_block DIR: the edge { } of a node serving br0 from DIR.
edge_block() {
  cat <<CONF
  edge {
    interface = br0
    address = "$srv_ip"
    config-dir = "$1/config"
    dhcp { enabled = on, subnets = [
        $subnets
      ] }
    tftp { enabled = on, root = "$1/tftp" }
    http { enabled = on, listen = "http://$srv_ip:8080", assets = "$1/assets" }
  }
CONF
}

bench_hocon() {
  echo "provisioner.machines.deadlines.discovered = 2h"
  if [ -n "${BENCH_PROVISIONER_HOCON:-}" ]; then printf '%s\n' "$BENCH_PROVISIONER_HOCON"; fi
}

declare -A node_tpid node_port node_conf node_env node_starts
# start_node NAME CONF ADMIN_PORT [VAR=VALUE...]: `provisioner serve` in the server namespace (not waited for).
start_node() {
  local name=$1 conf=$2 port=$3 quiet=""; shift 3
  node_conf[$name]=$conf; node_port[$name]=$port; node_env[$name]="$*"
  node_starts[$name]=$(( ${node_starts[$name]:-0} + 1 ))
  [ "$(bench_logs)" = quiet ] && quiet="Logging__LogLevel__Provisioner.Edge.Dhcp.DhcpHandler=Warning"
  # shellcheck disable=SC2086
  start_in "$srv_ns" "${BENCH_SERVER_LIMIT:-3600}" "$work/$name.${node_starts[$name]}.log" env $quiet ${BENCH_PROVISIONER_ENV:-} "$@" \
    dotnet "$prov_out/provisioner.dll" serve --hocon-dir "$prov_out/hocon" --config "$conf"
  node_tpid[$name]=$last_pid
}
restart_node() { local name=$1; start_node "$name" "${node_conf[$name]}" "${node_port[$name]}" ${node_env[$name]}; }
# wait_healthy NAME [SECONDS]: until the node's /healthz says ok (bounded; 120 s).
wait_healthy() {
  local name=$1 limit=${2:-120} t0
  t0=$(now)
  while awk -v a="$t0" -v z="$(now)" -v l="$limit" 'BEGIN { exit !(z - a < l) }'; do
    ip netns exec "$srv_ns" curl -fsS -m 2 "http://127.0.0.1:${node_port[$name]}/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${node_tpid[$name]}" 2>/dev/null || { echo "cluster bench: $name exited:" >&2; tail -40 "$work/$name.${node_starts[$name]}.log" >&2; return 1; }
    sleep 0.25
  done
  echo "cluster bench: $name not healthy after $limit s:" >&2
  ip netns exec "$srv_ns" curl -sS -m 2 "http://127.0.0.1:${node_port[$name]}/healthz" >&2 || true
  tail -40 "$work/$name.${node_starts[$name]}.log" >&2
  return 1
}
# node_pid NAME: the dotnet process under the recorded `timeout` PID (ip netns exec and env exec into it).
node_pid() { pgrep -P "${node_tpid[$1]}" | head -1; }
stop_node() { stop_pid "${node_tpid[$1]}"; }

pid_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Every postgres process in the server namespace; its ticks include reaped children's (the postmaster reaps backends).
pg_pids() { local p; for p in $(ns_pids "$srv_ns"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = postgres ] && echo "$p"; done; return 0; }
pg_ticks() { local t=0 p; for p in $(pg_pids); do t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# PostgreSQL's memory: proportional set size summed (its shared buffers counted once across backends), kB.
pg_pss() { local t=0 p; for p in $(pg_pids); do t=$((t + $(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0))); done; echo "$t"; }
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
pct() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", t / hz / s * 100; else print "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# list_state PORT: "CAUGHTUP COUNT INSTALLED" from the admin API's list (what `machine list -o json` reads).
list_state() {
  api "$1" machines -o "$work/list.json" 2>/dev/null || { echo "false -1 -1"; return 0; }
  jq -r '"\(.caughtUp) \(.machines | length) \([.machines[] | select(.stage == "Installed")] | length)"' "$work/list.json" 2>/dev/null || echo "false -1 -1"
}
# wait_listed "PORT..." COUNT LIMIT [INSTALLED]: until the list of one of these nodes (tried in order) is caughtUp
# with COUNT machines (and INSTALLED of them Installed); prints "SECONDS PORT", or "timeout(caughtUp count installed) 0".
wait_listed() {
  local ports=$1 want=$2 limit=$3 want_installed=${4:-} t0 c n i p
  t0=$(now)
  while :; do
    for p in $ports; do
      read -r c n i < <(list_state "$p")
      if [ "$c" = true ] && [ "$n" = "$want" ] && { [ -z "$want_installed" ] || [ "$i" = "$want_installed" ]; }; then echo "$(elapsed "$t0") $p"; return 0; fi
    done
    awk -v a="$t0" -v z="$(now)" -v l="$limit" 'BEGIN { exit !(z - a >= l) }' && { echo "timeout($c,$n,$i) 0"; return 0; }
    sleep 0.5
  done
}
# list_time PORT: median seconds of 3 list calls (curl's time_total; the JSON body is read in full), or "fails (HTTP
# CODE after S s)" when a call does not answer 200.
list_time() {
  local t=() k code s
  for k in 1 2 3; do
    read -r code s < <(ip netns exec "$srv_ns" curl -sS -m 60 -H "Authorization: Bearer $token" -o "$work/list-time.json" -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$1/api/v1/machines" 2>/dev/null || echo "000 0")
    [ "$code" = 200 ] || { echo "fails (HTTP $code after $s s: $(jq -r '.error // empty' "$work/list-time.json" 2>/dev/null | cut -c1-80))"; return 0; }
    t+=("$s")
  done
  median "${t[@]}"
}
# directory_port PORT...: the first of these nodes whose list answers (in a cluster, the core hosting the machine
# directory singleton always does: see the summary about the others); prints 0 if none.
directory_port() {
  local p code
  for p in "$@"; do
    code=$(ip netns exec "$srv_ns" curl -s -m 8 -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/api/v1/machines" 2>/dev/null || true)
    [ "$code" = 200 ] && { echo "$p"; return 0; }
  done
  echo 0
}
# cli_list_time PORT: one `provisioner machine list -o json` (the CLI's own start included), seconds.
cli_list_time() {
  local t0
  t0=$(now)
  ip netns exec "$srv_ns" timeout 120 dotnet "$prov_out/provisioner.dll" machine list -o json --server "http://127.0.0.1:$1" --token "$token" >"$work/cli-list.json" 2>"$work/cli-list.err" || { echo fail; return 0; }
  elapsed "$t0"
}

declare -A R   # results by key, for the summary

# storm CASE NODE...: the simulator from the client namespace; CPU per node over its lifetime; RSS after.
storm() {
  local case=$1 admin_port=$2; shift 2
  local nodes=("$@") n b0 b1 m0 m1 t_sim wall sim_ticks out="$work/$case.simulate.json" admin=()
  [ "${BENCH_CLUSTER_ADMIN_CHECK:-0}" = 1 ] && admin=(--admin "http://$srv_ip:$admin_port" --token "$token")
  cat >"$work/sim.sh" <<'SH'
#!/bin/sh
# The simulator, then its own CPU (children's utime+stime, reaped by this shell) into $3.
"$@" >"$SIM_OUT" 2>"$SIM_ERR"
rc=$?
awk '{ print $16 + $17 }' /proc/$$/stat >"$SIM_CPU"
exit $rc
SH
  chmod +x "$work/sim.sh"
  declare -A t0
  for n in "${nodes[@]}"; do t0[$n]=$(pid_ticks "$(node_pid "$n")"); done
  local pg0; pg0=$(pg_ticks)
  read -r b0 m0 < <(machine_ticks)
  t_sim=$(now)
  say "== $case: simulate --machines $machines --rate $rate --in-flight $in_flight ${admin[*]:+--admin …}"
  timeout $((machines / 5 + 600)) ip netns exec "$cli_ns" env SIM_OUT="$out" SIM_ERR="$work/$case.simulate.err" SIM_CPU="$work/$case.simulate.cpu" \
    "$work/sim.sh" dotnet "$prov_out/provisioner.dll" simulate --dhcp-server "$srv_ip" --relay-address "$relay" \
    --machines "$machines" --rate "$rate" --in-flight "$in_flight" "${admin[@]}" -o json {bench_lock_fd}>&- || R[$case.sim_rc]=$?
  wall=$(elapsed "$t_sim")
  read -r b1 m1 < <(machine_ticks)
  sim_ticks=$(cat "$work/$case.simulate.cpu" 2>/dev/null || echo 0)
  local pg1; pg1=$(pg_ticks)
  if ! jq -e . "$out" >/dev/null 2>&1; then
    say "simulate wrote no JSON report (exit ${R[$case.sim_rc]:-0}):"; tail -20 "$out" "$work/$case.simulate.err" | tee -a "$results"; return 1
  fi
  R[$case.mps]=$(jq -r '.machinesPerSecond' "$out")
  R[$case.completed]=$(jq -r '.completed' "$out")
  R[$case.failed]=$(jq -r '.failed' "$out")
  R[$case.wall]=$(jq -r '.wallSeconds' "$out")
  R[$case.p50]=$(jq -r '.stages[] | select(.stage == "total") | .p50Ms / 1000 | . * 100 | round / 100' "$out")
  R[$case.p99]=$(jq -r '.stages[] | select(.stage == "total") | .p99Ms / 1000 | . * 100 | round / 100' "$out")
  R[$case.dups]=$(jq -r '.duplicates | length' "$out")
  say "$case: ${R[$case.completed]}/$machines completed, ${R[$case.failed]} failed, ${R[$case.mps]} machines/s (wall ${R[$case.wall]} s), total boot p50 ${R[$case.p50]} s p99 ${R[$case.p99]} s, addresses ACKed twice: ${R[$case.dups]}, exit ${R[$case.sim_rc]:-0}"
  jq -r '.stages[] | "  \(.stage): n=\(.count) p50 \(.p50Ms) ms, p90 \(.p90Ms), p99 \(.p99Ms), max \(.maxMs)"' "$out" | tee -a "$results"
  jq -r '.failures[]? | "  failed at \(.stage): \(.machines) × \(.reason) (e.g. \(.examples | join(", ")))"' "$out" | tee -a "$results"
  jq -r 'if .packets then "  packets: \(.packets | tostring)" else empty end' "$out" | tee -a "$results"
  # CPU over the simulator's lifetime, % of one core.
  local busy=$((b1 - b0)) total=$((m1 - m0)) line="" top="" top_pct=-1 p v servers=0
  R[$case.machine_busy]=$(awk -v b="$busy" -v t="$total" 'BEGIN { if (t > 0) printf "%.0f", b / t * 100; else print "n/a" }')
  for n in "${nodes[@]}"; do
    v=$(( $(pid_ticks "$(node_pid "$n")") - t0[$n] )); servers=$((servers + v))
    p=$(pct "$v" "$wall"); R[$case.cpu.$n]=$p; line="$line $n ${p}%"
    [ "$p" -gt "$top_pct" ] && { top_pct=$p; top=$n; }
  done
  if [ "$case" = cluster ]; then
    servers=$((servers + pg1 - pg0))
    p=$(pct $((pg1 - pg0)) "$wall"); R[$case.cpu.postgres]=$p; line="$line postgres ${p}%"
    [ "$p" -gt "$top_pct" ] && { top_pct=$p; top=postgres; }
  fi
  p=$(pct "$sim_ticks" "$wall"); R[$case.cpu.simulator]=$p; line="$line simulator ${p}%"
  [ "$p" -gt "$top_pct" ] && { top_pct=$p; top=simulator; }
  R[$case.top]="$top ${top_pct}%"
  # The machine's busy time (all CPUs, in ticks; /proc/stat counts per CPU) not spent by this bench's processes: other
  # sessions' work on the same machine, which the two cases do not share equally.
  # Approximate: per-process and per-CPU accounting differ by a few % of a core, more on a short storm (clamped at 0).
  v=$((busy - servers - sim_ticks)); [ "$v" -lt 0 ] && v=0
  R[$case.cpu.others]=$(pct "$v" "$wall")
  R[$case.cpu_per_machine]=$(awk -v t="$servers" -v hz="$hz" -v m="${R[$case.completed]}" 'BEGIN { if (m > 0) printf "%.1f", t / hz * 1000 / m; else print "n/a" }')
  say "$case CPU over the storm (${wall} s; % of one core):$line; anything else on the machine ${R[$case.cpu.others]}%; machine busy ${R[$case.machine_busy]}% of its $(nproc) cores; servers' CPU per machine booted ${R[$case.cpu_per_machine]} ms"
  line=""
  for n in "${nodes[@]}"; do
    R[$case.rss.$n]=$(mb "$(status_kb VmRSS "$(node_pid "$n")")")
    line="$line $n $(mb "$(status_kb VmRSS "$(node_pid "$n")")") MB (peak $(mb "$(status_kb VmHWM "$(node_pid "$n")")"))"
  done
  [ "$case" = cluster ] && { R[$case.rss.postgres]=$(mb "$(pg_pss)"); line="$line postgres ${R[$case.rss.postgres]} MB (PSS)"; }
  say "$case RSS after the storm:$line"
}

# list_after_storm CASE "WAIT_PORTS" PORT...: until the list (from the first of WAIT_PORTS that answers) has every
# machine Installed, then the call's time on each PORT.
list_after_storm() {
  local case=$1 wait_ports=$2 port; shift 2
  read -r "R[$case.list_ready]" "R[$case.dir_port]" < <(wait_listed "$wait_ports" "$machines" 180 "$machines")
  say "$case list: caughtUp with all $machines machines Installed ${R[$case.list_ready]} s after the storm ended (port ${R[$case.dir_port]})"
  for port in "$@"; do
    R[$case.list.$port]=$(list_time "$port")
    if [[ "${R[$case.list.$port]}" == fails* ]]; then
      say "$case list right after the storm, port $port: GET /api/v1/machines ${R[$case.list.$port]}"
    else
      say "$case list right after the storm, port $port: GET /api/v1/machines ${R[$case.list.$port]} s (median of 3), $(stat -c %s "$work/list-time.json") bytes; CLI machine list -o json $(cli_list_time "$port") s"
    fi
  done
}

# ---------------------------------------------------------------- single
run_single() {
  local dir="$work/single"
  prepare_node_dir "$dir"
  cat >"$dir/site.conf" <<CONF
include "single-node.conf"
provisioner {
  persistence.data-dir = "$dir/data"
  admin { listen = "http://0.0.0.0:9780", token = "$token" }
$(edge_block "$dir")
}
$(bench_hocon)
CONF
  local t0; t0=$(now)
  start_node single "$dir/site.conf" 9780
  wait_healthy single
  say "single: healthy $(elapsed "$t0") s after start; idle RSS $(mb "$(status_kb VmRSS "$(node_pid single)")") MB"
  storm single 9780 single || return 1
  list_after_storm single 9780 9780
  # Full restart of the one node.
  stop_node single
  t0=$(now)
  restart_node single
  wait_healthy single
  R[single.restart_healthy]=$(elapsed "$t0")
  local ready; read -r ready _ < <(wait_listed 9780 "$machines" 300)
  R[single.restart_listed]=$(elapsed "$t0")
  [[ "$ready" == timeout* ]] && R[single.restart_listed]="$ready"
  R[single.restart_list]=$(list_time 9780)
  say "single restart: healthy ${R[single.restart_healthy]} s, list caughtUp with $machines machines ${R[single.restart_listed]} s after start; GET /api/v1/machines then ${R[single.restart_list]} s; RSS $(mb "$(status_kb VmRSS "$(node_pid single)")") MB"
  stop_node single
}

# ---------------------------------------------------------------- cluster
core_akka() { echo "akka.tcp://provisioner@127.0.0.1:$((4060 + $1))"; }
run_cluster() {
  local seeds i dir t0 db
  seeds="\"$(core_akka 1)\", \"$(core_akka 2)\", \"$(core_akka 3)\""
  mkdir -p "$pg_dir"
  db=$(ip netns exec "$srv_ns" env PG_DURABLE=1 "$bench_root/scripts/lab/postgres.sh" start "$pg_dir" 5432 127.0.0.1 {bench_lock_fd}>&- | tail -1)
  pg_started=1
  say "cluster: PostgreSQL $("$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin | sort -V | tail -1)/postgres" --version | awk '{ print $3 }') with fsync and synchronous_commit on (PG_DURABLE=1)"
  for i in 1 2 3; do
    dir="$work/core$i"; mkdir -p "$dir/data"
    cat >"$dir/site.conf" <<CONF
include "core.conf"
provisioner {
  node { hostname = "127.0.0.1", port = $((4060 + i)), seed-nodes = [$seeds] }
  admin { listen = "http://0.0.0.0:$((9780 + i))", token = "$token" }
  persistence.data-dir = "$dir/data"
}
$(bench_hocon)
CONF
  done
  dir="$work/edge"
  prepare_node_dir "$dir"
  cat >"$dir/site.conf" <<CONF
include "edge.conf"
provisioner {
  node { hostname = "127.0.0.1", port = 4071, seed-nodes = [$seeds] }
  admin { listen = "http://0.0.0.0:9791", token = "$token" }
  persistence.data-dir = "$dir/data"
$(edge_block "$dir")
}
$(bench_hocon)
CONF
  t0=$(now)
  for i in 1 2 3; do start_node "core$i" "$work/core$i/site.conf" $((9780 + i)) "PROVISIONER_DB=$db"; wait_healthy "core$i"; done
  start_node edge "$work/edge/site.conf" 9791 "PROVISIONER_DB=$db"; wait_healthy edge
  say "cluster: 3 cores and the edge healthy $(elapsed "$t0") s after the first start; idle RSS core1 $(mb "$(status_kb VmRSS "$(node_pid core1)")") MB, core2 $(mb "$(status_kb VmRSS "$(node_pid core2)")") MB, core3 $(mb "$(status_kb VmRSS "$(node_pid core3)")") MB, edge $(mb "$(status_kb VmRSS "$(node_pid edge)")") MB, postgres $(mb "$(pg_pss)") MB (PSS)"
  storm cluster 9791 core1 core2 core3 edge || return 1
  api 9791 cluster/shards | jq -r '.regions[] | "  shards \(.type): " + ([.nodes[] | "\(.address | sub(".*:"; ":")) \(.shards) shards \(.entities) live"] | join(", "))' | tee -a "$results"
  list_after_storm cluster "9781 9782 9783" 9781 9782 9783 9791

  # ---- kill -9 of the core hosting the most sampled machines
  local k idx mac host victim="" vi survivor sport
  declare -A host_of count
  for k in $(seq 0 $((sample - 1))); do
    idx=$((k * machines / sample)); mac=$(mac_of "$idx")
    host=$(api 9791 "machines/$mac/where" | jq -r '.node // "none"') || host=none
    host_of[$mac]=$host; count[$host]=$(( ${count[$host]:-0} + 1 ))
  done
  for host in "${!count[@]}"; do
    [[ "$host" == *:406[123] ]] || continue
    { [ -z "$victim" ] || [ "${count[$host]}" -gt "${count[$victim]}" ]; } && victim=$host
  done
  [ -n "$victim" ] || { say "cluster kill: no sampled machine is hosted on a core (${!count[*]})"; return 1; }
  vi=${victim##*:406}
  survivor=$(( vi % 3 + 1 )); sport=$((9780 + survivor))
  say "cluster kill: $sample sampled machines by host: $(for h in "${!count[@]}"; do printf '%s=%s ' "${h##*@}" "${count[$h]}"; done); kill -9 core$vi (${count[$victim]} of them), polled from core$survivor"
  mkdir -p "$work/kill"
  local pollers=() victim_pid
  victim_pid=$(node_pid "core$vi")
  t0=$(now)
  kill -9 "$victim_pid"
  { wait "${node_tpid[core$vi]}"; } 2>/dev/null || true
  for mac in "${!host_of[@]}"; do
    [ "${host_of[$mac]}" = "$victim" ] || continue
    (
      until [ "$(awk -v a="$t0" -v z="$(now)" 'BEGIN { print (z - a > 180) }')" = 1 ]; do
        if api "$sport" "machines/$mac" -m 10 2>/dev/null | jq -e '.stage == "Installed"' >/dev/null 2>&1; then echo "$(elapsed "$t0")" >"$work/kill/$mac"; exit 0; fi
        sleep 0.2
      done
      echo timeout >"$work/kill/$mac"
    ) &
    pollers+=($!)
  done
  local t_unreachable="" t_removed="" state
  until [ -n "$t_removed" ] || [ "$(awk -v a="$t0" -v z="$(now)" 'BEGIN { print (z - a > 180) }')" = 1 ]; do
    state=$(api "$sport" cluster -m 5 2>/dev/null || echo '{}')
    [ -z "$t_unreachable" ] && jq -e --arg v "$victim" '.unreachable // [] | index($v)' <<<"$state" >/dev/null 2>&1 && t_unreachable=$(elapsed "$t0")
    jq -e --arg v "$victim" '.members != null and ([.members[] | select(.address == $v)] | length == 0)' <<<"$state" >/dev/null 2>&1 && t_removed=$(elapsed "$t0")
    sleep 0.2
  done
  for k in "${pollers[@]}"; do wait "$k" 2>/dev/null || true; done
  local served; served=$(cat "$work"/kill/* 2>/dev/null | tr '\n' ' ')
  R[kill.moved]=${count[$victim]}
  R[kill.all]=$(printf '%s\n' $served | awk '/timeout/ { t = 1 } /^[0-9.]+$/ { if ($1 > m) m = $1 } END { if (t) print "timeout"; else if (NR == 0) print "n/a"; else print m }')
  R[kill.median]=$(median $served)
  R[kill.unreachable]=${t_unreachable:-timeout}; R[kill.removed]=${t_removed:-timeout}
  say "cluster kill -9 core$vi: unreachable after ${R[kill.unreachable]} s, removed after ${R[kill.removed]} s; its ${R[kill.moved]} sampled machines answer machine show (Installed) from core$survivor after median ${R[kill.median]} s, all after ${R[kill.all]} s"
  grep -hE 'SBR took decision|Leader is removing unreachable' "$work"/core*.log 2>/dev/null | cut -c1-260 | head -3 | sed 's/^/  log: /' | tee -a "$results" || true
  # Restart it: healthy (Up), and every member Up with nothing unreachable.
  t0=$(now)
  restart_node "core$vi"
  wait_healthy "core$vi" 180
  R[kill.rejoin_healthy]=$(elapsed "$t0")
  R[kill.rejoin_all]=timeout
  until [ "$(awk -v a="$t0" -v z="$(now)" 'BEGIN { print (z - a > 180) }')" = 1 ]; do
    state=$(api "$sport" cluster -m 5 2>/dev/null || echo '{}')
    if jq -e '([.members[]? | select(.status == "Up")] | length) == 4 and ((.unreachable // []) | length) == 0' <<<"$state" >/dev/null 2>&1; then R[kill.rejoin_all]=$(elapsed "$t0"); break; fi
    sleep 0.2
  done
  say "cluster rejoin of core$vi: healthy ${R[kill.rejoin_healthy]} s after its start, 4 members Up and none unreachable after ${R[kill.rejoin_all]} s"

  # ---- seed the journal up to BENCH_CLUSTER_LIST_TOTAL machines with DHCP-only PXE machines
  local have want seed_n period c dport
  # The directory singleton may still be moving after the rejoin: until one core's list answers (bounded, 60 s).
  for _ in $(seq 1 30); do
    dport=$(directory_port 9781 9782 9783)
    [ "$dport" != 0 ] && break
    sleep 2
  done
  # …and until it has caught up (a directory that just moved reads the journal since its snapshot first).
  for _ in $(seq 1 60); do
    read -r c have _ < <(list_state "$dport")
    [ "$c" = true ] && break
    sleep 2
  done
  [ "$c" = true ] && [ "$have" -ge 0 ] || { say "cluster: no core's machine list is caught up after the rejoin (:$dport $c $have)"; return 1; }
  want=$have
  if [ "$list_total" -gt "$have" ]; then
    seed_n=$((list_total - have)); period=$((seed_n / seed_rate + 30))
    t0=$(now)
    timeout $((period + 120)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$seed_rate" -R "$seed_n" -n "$seed_n" -p "$period" -W 2000000 \
      -b mac=00:0c:0a:00:00:00 "${pxe_opts[@]}" "$srv_ip" >"$work/seed.perfdhcp.txt" 2>&1 {bench_lock_fd}>&- || true
    local acks; read -r acks _ < <(perfdhcp_stats "$work/seed.perfdhcp.txt")
    # The list follows the journal: until it stops growing (3 equal polls 2 s apart, at most 300 s).
    local same=0 last=-1
    for _ in $(seq 1 150); do
      read -r c have _ < <(list_state "$dport")
      if [ "$have" = "$last" ] && [ "$c" = true ]; then same=$((same + 1)); [ "$same" -ge 3 ] && break; else same=0; last=$have; fi
      sleep 2
    done
    want=$have
    say "cluster seed: perfdhcp $seed_n new PXE machines at $seed_rate/s: ${acks:-?} ACKs in $(elapsed "$t0") s; the list now holds $want machines (caughtUp $c); core RSS $(mb "$(status_kb VmRSS "$(node_pid core1)")")/$(mb "$(status_kb VmRSS "$(node_pid core2)")")/$(mb "$(status_kb VmRSS "$(node_pid core3)")") MB"
    R[cluster.seed_list]=$(list_time "$dport")
    say "cluster list before the restart ($want machines): GET /api/v1/machines ${R[cluster.seed_list]} s on the directory's core (:$dport), $(list_time 9791) on the edge"
  fi
  R[cluster.restart_n]=$want

  # ---- full restart: every node stopped, then started again (PostgreSQL stays up)
  t0=$(now)
  for n in edge core3 core2 core1; do stop_node "$n"; done
  say "cluster: every node stopped in $(elapsed "$t0") s"
  t0=$(now)
  for i in 1 2 3; do restart_node "core$i"; wait_healthy "core$i"; done
  restart_node edge; wait_healthy edge
  R[cluster.restart_healthy]=$(elapsed "$t0")
  local ready; read -r ready dport < <(wait_listed "9781 9782 9783" "$want" 600)
  R[cluster.restart_listed]=$(elapsed "$t0")
  [[ "$ready" == timeout* ]] && { R[cluster.restart_listed]="$ready"; dport=9781; }
  R[cluster.restart_list]=$(list_time "$dport")
  R[cluster.restart_list_edge]=$(list_time 9791)
  say "cluster full restart ($want machines): every node healthy ${R[cluster.restart_healthy]} s after the first start, list caughtUp with all of them ${R[cluster.restart_listed]} s after it (:$dport); GET /api/v1/machines then ${R[cluster.restart_list]} s there, ${R[cluster.restart_list_edge]} on the edge; CLI machine list -o json $(cli_list_time "$dport") s"
  say "cluster RSS after the restart: core1 $(mb "$(status_kb VmRSS "$(node_pid core1)")") MB, core2 $(mb "$(status_kb VmRSS "$(node_pid core2)")") MB, core3 $(mb "$(status_kb VmRSS "$(node_pid core3)")") MB, edge $(mb "$(status_kb VmRSS "$(node_pid edge)")") MB"
  for n in edge core3 core2 core1; do stop_node "$n"; done
}

say "cluster bench: $(date -u +%FT%TZ), commit $(git -C "$bench_root" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); N=$machines rate=$rate in-flight=$in_flight cases='$cases'"
for c in $cases; do
  case $c in
    single) run_single || say "single: FAILED (logs in $work)" ;;
    cluster) run_cluster || say "cluster: FAILED (logs in $work)" ;;
  esac
done

# ---------------------------------------------------------------- summary
{
  echo
  echo "== summary (N=$machines, rate $rate/s, in-flight $in_flight; $(nproc) cores; elapsed $(elapsed "$t_begin") s)"
  for c in $cases; do
    echo "$c: ${R[$c.mps]:-n/a} machines/s (${R[$c.completed]:-?}/$machines completed, ${R[$c.failed]:-?} failed), boot p50 ${R[$c.p50]:-?} s p99 ${R[$c.p99]:-?} s; servers' CPU ${R[$c.cpu_per_machine]:-?} ms per machine; busiest: ${R[$c.top]:-?} of one core; machine ${R[$c.machine_busy]:-?}% busy (≈ ${R[$c.cpu.others]:-?}% of a core not this bench)"
  done
  echo "cluster/single machines/s: $(ratio "${R[cluster.mps]:-}" "${R[single.mps]:-}") (target >= 1.5)"
  if [[ " $cases " == *" cluster "* ]]; then
    echo "kill -9 of a core: unreachable ${R[kill.unreachable]:-?} s, removed ${R[kill.removed]:-?} s, its sampled machines (${R[kill.moved]:-?}) served again median ${R[kill.median]:-?} s, all ${R[kill.all]:-?} s; rejoin healthy ${R[kill.rejoin_healthy]:-?} s, all Up ${R[kill.rejoin_all]:-?} s"
    echo "cluster list after a full restart (${R[cluster.restart_n]:-?} machines): complete ${R[cluster.restart_listed]:-?} s after the first start (nodes healthy ${R[cluster.restart_healthy]:-?} s), call ${R[cluster.restart_list]:-?} s on the directory's core, ${R[cluster.restart_list_edge]:-?} on the edge"
    echo "cluster list right after the storm: core1 ${R[cluster.list.9781]:-?}, core2 ${R[cluster.list.9782]:-?}, core3 ${R[cluster.list.9783]:-?}, edge ${R[cluster.list.9791]:-?}"
    echo "cluster RSS after the storm: core1 ${R[cluster.rss.core1]:-?} MB, core2 ${R[cluster.rss.core2]:-?} MB, core3 ${R[cluster.rss.core3]:-?} MB, edge ${R[cluster.rss.edge]:-?} MB, postgres ${R[cluster.rss.postgres]:-?} MB (PSS)"
    echo "cluster CPU over the storm (% of one core): core1 ${R[cluster.cpu.core1]:-?}, core2 ${R[cluster.cpu.core2]:-?}, core3 ${R[cluster.cpu.core3]:-?}, edge ${R[cluster.cpu.edge]:-?}, postgres ${R[cluster.cpu.postgres]:-?}, simulator ${R[cluster.cpu.simulator]:-?}"
  fi
  if [[ " $cases " == *" single "* ]]; then
    echo "single list after a restart ($machines machines): complete ${R[single.restart_listed]:-?} s after start, call ${R[single.restart_list]:-?} s; right after the storm ${R[single.list.9780]:-?} s"
    echo "single RSS after the storm: ${R[single.rss.single]:-?} MB; CPU node ${R[single.cpu.single]:-?}%, simulator ${R[single.cpu.simulator]:-?}%"
  fi
} | tee -a "$results"
echo "results: $results; simulator reports, node logs: $work"
