#!/usr/bin/env bash
# Memory of one `provisioner serve` node: idle, and per 10,000 machine actors created by PXE DHCP clients, one run.
#
#   scripts/bench/memory.sh [N]      (default 10000 clients; about 10 min with the defaults, plus the build)
#
# Topology (created and deleted by name here): namespace pvb-mem-srv with bridge br0 10.78.36.1/24, namespace
# pvb-mem-cli with eth0 10.78.36.2/24 on a veth pair into br0. The node runs in the server namespace with DHCP bound
# to br0 (TFTP and HTTP off), subnet 10.78.0.0/16 (it holds giaddr 10.78.36.2), pool 10.78.64.1 - 10.78.254.254
# (48,894 addresses, clear of the link), lease time 1 h, its default SQLite journal; default settings otherwise, but
# the machine deadline and passivation set as "After passivation" below. Default build output: /tmp/bench-provisioner-mem.
#
# 1. Idle: RSS (VmRSS summed over every process in the server namespace, lib.sh ns_rss) BENCH_MEM_IDLE s (20)
#    after /healthz answers.
# 2. Warm-up (as dhcp.sh, but PXE clients): 500 clients at 100/s from base MAC 00:0c:09:00:00:00, so JIT, thread
#    pools and caches are paid before the baseline (cold, the first exchanges answer after perfdhcp's 1 s);
#    baseline RSS read once the machine list stops growing.
#    N PXE clients: perfdhcp -4 in the client namespace as a relay agent (as dhcp.sh), full DORA, at
#    BENCH_MEM_RATE/s (200), bounded by -n N and -p, sending option 60 "PXEClient:Arch:00000:UNDI:002001" and
#    option 93 = 0 (x86 BIOS), so every new MAC is a PXE client and its DISCOVER creates a machine actor (stage
#    Discovered). perfdhcp 2.2 steps the MAC up from its base (00:0c:01:02:03:04) for each new exchange, so
#    -R N -n N is N distinct clients. Machines are counted over the admin API (GET /api/v1/machines, the read model),
#    polled until the count stops growing; RSS is read BENCH_MEM_SETTLE s (20) later. A machine in Discovered keeps
#    its deadline timer, and MachineActor passivates only with no deadline pending (sharding's own idle
#    passivation is off), so every Discovered machine whose stage began less than the deadline ago is a live actor; the
#    script prints the oldest such age to show the measurement fell inside that window.
#    Reported: RSS after N, peak (VmHWM), machines listed; MB per 10,000 machines = (RSS after N - baseline) /
#    machines added; the same from idle (which also counts the warm-up's one-time cost) for context.
#    The rate is one the node answers without drops on 2 busy cores (each new PXE client is ~4 journal writes): at
#    500/s it fell behind (OFFERs after 1.5 s on average, 30 % / 58 % drops) and the backlog's garbage nearly doubled
#    the delta (194 vs 104 MB per 10,000), so the script says so when either exchange drops more than 1 %.
#    After passivation: the bench's node file sets deadlines.discovered to the measurement window plus a margin
#    (BENCH_MEM_DEADLINE s, default N/rate + settle + 150), max-timeouts = 1 and passivate-after = BENCH_MEM_PASSIVATE
#    s (20), so every machine that only DHCP'd misses its deadline once, is Failed (as a real machine that never came
#    back is after max-timeouts) and stops. The script polls `GET /api/v1/cluster/shards` (provisioner cluster shards)
#    until no machine actor is live (bounded), waits BENCH_MEM_SETTLE s and reads RSS again: what a node keeps for
#    machines it no longer holds in memory (the journal rows are on disk, the read model keeps one row per machine).
#    Then the managed heap at the last collection and right after a full one (POST /api/v1/node/gc), and RSS again.
# 3. Kea (context only; it has no per-machine state beyond a lease): kea-dhcp4 with the same subnet, memfile
#    lease database, the same warm-up and perfdhcp run; RSS idle, after warm-up and after. Not a ratio target.
# Its own build output, so a run never replaces the binary another benchmark is using (lib.sh reads this on source).
BENCH_PROVISIONER="${BENCH_PROVISIONER:-/tmp/bench-provisioner-mem}"
source "$(dirname "$0")/lib.sh"

n=${1:-10000}
rate=${BENCH_MEM_RATE:-200}
idle_wait=${BENCH_MEM_IDLE:-20}
settle=${BENCH_MEM_SETTLE:-20}
# At most 40,000: the pool holds 48,894, and every machine must still be inside its 5 min Discovered deadline when
# RSS is read (40,000 at 200/s is 200 s of sending).
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 100 ] && [ "$n" -le 40000 ] || { echo "memory bench: N must be 100..40000" >&2; exit 2; }
bench_init mem 36
for tool in perfdhcp kea-dhcp4 timeout curl jq; do command -v "$tool" >/dev/null || { echo "memory bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
build_provisioner

rm -rf "$work"; mkdir -p "$work/data" "$work/config" "$work/kea"
network=10.78.0.0/16
pool_start=10.78.64.1
pool_end=10.78.254.254

write_dhcp_configs "$network" "$pool_start" "$pool_end"
passivate_s=${BENCH_MEM_PASSIVATE:-20}
deadline_s=${BENCH_MEM_DEADLINE:-$((n / rate + 30 + settle + 150))}
cat >>"$work/provisioner.conf" <<CONF
# memory.sh: machines that only DHCP'd fail at their first missed deadline and passivate soon after, so RSS can be
# read again once no machine actor is live (see the header).
provisioner.machines {
  deadlines.discovered = ${deadline_s}s
  max-timeouts = 1
  passivate-after = ${passivate_s}s
}
CONF

net_up

period=$((n / rate + 30))
# run_clients SERVER: N exchanges from the client namespace; prints "DISCOVERs OFFERs REQUESTs ACKs".
run_clients() {
  local out="$work/perfdhcp.$1.txt"
  timeout $((period + 60)) ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r "$rate" -R "$n" -n "$n" -p "$period" -W 2000000 \
    "${pxe_opts[@]}" "$srv_ip" >"$out" 2>&1 || true
  awk '
    /^\*\*\*Statistics for: DISCOVER-OFFER/ { x = "do" }
    /^\*\*\*Statistics for: REQUEST-ACK/ { x = "ra" }
    x != "" && /^sent packets:/ { sent[x] = $3 }
    x != "" && /^received packets:/ { recv[x] = $3 }
    END { printf "%d %d %d %d\n", sent["do"], recv["do"], sent["ra"], recv["ra"] }' "$out"
}

# shellcheck disable=SC2046
hwm_total() { status_kb VmHWM $(ns_pids "$srv_ns"); }
list_machines() { ip netns exec "$srv_ns" curl -fsS -m 30 http://127.0.0.1:9780/api/v1/machines >"$work/machines.json" 2>/dev/null || echo '{"machines":[]}' >"$work/machines.json"; }
machine_count() { list_machines; jq '.machines | length' "$work/machines.json"; }

# The read model follows the journal: poll until the count stops growing (3 equal polls 2 s apart, at most 120 s);
# sets count.
until_listed_stable() {
  local c same=0
  count=-1
  for _ in $(seq 1 60); do
    c=$(machine_count)
    if [ "$c" = "$count" ]; then same=$((same + 1)); [ "$same" -ge 3 ] && return 0; else same=0; count=$c; fi
    sleep 2
  done
}
warm_up() {
  timeout 60 ip netns exec "$cli_ns" perfdhcp -4 -l "$cli_ip" -r 100 -R 500 -n 500 -b mac=00:0c:09:00:00:00 -p 10 -W 2000000 \
    "${pxe_opts[@]}" "$srv_ip" >"$work/$1.warmup.txt" 2>&1 || true
  sleep 5
}

results="$work/results.txt"
: >"$results"
t_start=$(now)

# ---- Provisioner
start_provisioner "$work/provisioner.conf" "$work/provisioner.log"
sleep "$idle_wait"
p_idle=$(ns_rss "$srv_ns")
echo "provisioner idle ($idle_wait s after healthy): RSS $p_idle kB" | tee -a "$results"
[ "$(machine_count)" = 0 ] || echo "memory bench: machines listed before any client (expected 0)" | tee -a "$results"

# Warm-up (as dhcp.sh): 500 PXE clients at 100/s from another base MAC (not among the N), so JIT, thread pools,
# journal and lease caches are paid before the baseline; cold, the first exchanges answer after perfdhcp's 1 s.
warm_up provisioner
until_listed_stable
p_base=$(ns_rss "$srv_ns"); m_base=$count
echo "provisioner after warm-up ($m_base machines): RSS $p_base kB" | tee -a "$results"
read -r p_do p_of p_rq p_ack < <(run_clients provisioner)
echo "perfdhcp: $p_do DISCOVER -> $p_of OFFER, $p_rq REQUEST -> $p_ack ACK (rate $rate/s, -n $n)" | tee -a "$results"
if awk -v a="$p_do" -v b="$p_of" -v c="$p_rq" -v d="$p_ack" 'BEGIN { exit !(a == 0 || c == 0 || (a - b) / a > 0.01 || (c - d) / c > 0.01) }'; then
  echo "WARNING: more than 1 % of the exchanges dropped: the node fell behind, RSS below includes its backlog (lower BENCH_MEM_RATE)" | tee -a "$results"
fi
until_listed_stable
sleep "$settle"
p_after=$(ns_rss "$srv_ns")
p_hwm=$(hwm_total)
t_measured=$(date +%s)
list_machines
listed=$(jq '.machines | length' "$work/machines.json")
caught_up=$(jq '.caughtUp' "$work/machines.json")
discovered=$(jq '[.machines[] | select(.stage == "Discovered")] | length' "$work/machines.json")
with_lease=$(jq '[.machines[] | select(.address != null)] | length' "$work/machines.json")
oldest=$(jq -r '[.machines[] | select(.stage == "Discovered") | .firstSeenAt] | min // empty' "$work/machines.json")
oldest_age=n/a
[ -n "$oldest" ] && oldest_age=$((t_measured - $(date -d "$oldest" +%s)))
stages=$(jq -r '[.machines[].stage] | group_by(.) | map("\(.[0]) \(length)") | join(", ")' "$work/machines.json")
p_delta=$((p_after - p_base))
added=$((listed - m_base))
per10k=$(awk -v d="$p_delta" -v m="$added" 'BEGIN { if (m > 0) printf "%.1f", d / 1024 * 10000 / m; else print "n/a" }')
per10k_idle=$(awk -v d="$((p_after - p_idle))" -v m="$listed" 'BEGIN { if (m > 0) printf "%.1f", d / 1024 * 10000 / m; else print "n/a" }')
{
  echo "provisioner after $n clients ($settle s after the list stopped growing): RSS $p_after kB (peak VmHWM $p_hwm kB)"
  echo "machines listed: $listed (caughtUp $caught_up; by stage: ${stages:-none}; with a lease recorded: $with_lease)"
  echo "alive: $discovered in Discovered, the oldest entered ${oldest_age} s before the RSS read (deadline $deadline_s s, so none passivated yet)"
  echo "delta after warm-up -> after N: $p_delta kB for $added machines = $per10k MB per 10,000 machines"
  echo "delta idle -> after N (includes warm-up: JIT, pools, caches): $((p_after - p_idle)) kB for $listed machines = $per10k_idle MB per 10,000"
} | tee -a "$results"
[ "$oldest_age" != n/a ] && [ "$oldest_age" -ge "$deadline_s" ] && echo "WARNING: the oldest Discovered machine passed its $deadline_s s deadline before the read" | tee -a "$results"

# After passivation: every machine misses its deadline (deadline_s after it was first seen), is Failed, and stops
# passivate_s later. Poll the live machine actors until none is left (bounded).
live_machines() { ip netns exec "$srv_ns" curl -fsS -m 30 http://127.0.0.1:9780/api/v1/cluster/shards 2>/dev/null | jq '[.regions[] | select(.type == "machine") | .entities] | add // -1'; }
live=$(live_machines)
echo "live machine actors now: $live (cluster shards); waiting for their deadline ($deadline_s s) and passivation ($passivate_s s)" | tee -a "$results"
wait_until=$(( $(date +%s) + deadline_s + passivate_s + 180 ))
while [ "$(date +%s)" -lt "$wait_until" ]; do
  live=$(live_machines)
  [ "$live" = 0 ] && break
  sleep 5
done
t_passivated=$(date +%s)
sleep "$settle"
p_passive=$(ns_rss "$srv_ns")
list_machines
failed=$(jq '[.machines[] | select(.stage == "Failed")] | length' "$work/machines.json")
{
  echo "after passivation: live machine actors $live ($(( t_passivated - t_measured )) s after the first read; $failed machines Failed by their deadline), $settle s later RSS $p_passive kB"
  echo "delta warm-up -> after passivation: $((p_passive - p_base)) kB for $added machines = $(awk -v d="$((p_passive - p_base))" -v m="$added" 'BEGIN { if (m > 0) printf "%.1f", d / 1024 * 10000 / m; else print "n/a" }') MB per 10,000 machines no longer in memory"
} | tee -a "$results"
# What of that is live: the node's managed heap before and right after a full, compacting collection (POST
# /api/v1/node/gc, provisioner node gc), and RSS after it (the GC may keep memory it freed committed).
node_before=$(ip netns exec "$srv_ns" curl -fsS -m 30 http://127.0.0.1:9780/api/v1/node || echo '{}')
node_after=$(ip netns exec "$srv_ns" curl -fsS -m 120 -X POST http://127.0.0.1:9780/api/v1/node/gc || echo '{}')
sleep 5
p_gc=$(ns_rss "$srv_ns")
{
  echo "managed heap: $(jq -r '(.gcHeapBytes // 0) / 1048576 | floor' <<<"$node_before") MB at the last collection; after a full collection (node gc) $(jq -r '(.gcHeapBytes // 0) / 1048576 | floor' <<<"$node_after") MB live, $(jq -r '(.gcCommittedBytes // 0) / 1048576 | floor' <<<"$node_after") MB committed; RSS 5 s later $p_gc kB"
} | tee -a "$results"
[ "$live" = 0 ] || echo "WARNING: machine actors still live after the wait" | tee -a "$results"
echo "provisioner log: $(wc -l <"$work/provisioner.log") lines, warn/fail/error: $(grep -ciE 'warn|fail|error' "$work/provisioner.log" || true)" | tee -a "$results"
stop_pid "$prov_pid"

# ---- Kea (context)
start_in "$srv_ns" 3600 "$work/kea/stdout.log" env KEA_PIDFILE_DIR="$work/kea" KEA_LOCKFILE_DIR="$work/kea" \
  kea-dhcp4 -c "$work/kea/kea-dhcp4.conf"
kea_pid=$last_pid
for _ in $(seq 1 50); do
  ip netns exec "$srv_ns" ss -lun 2>/dev/null | grep -q ':67 ' && break
  kill -0 "$kea_pid" 2>/dev/null || { echo "memory bench: kea-dhcp4 exited" >&2; cat "$work/kea/stdout.log" >&2; exit 1; }
  sleep 0.2
done
sleep "$idle_wait"
k_idle=$(ns_rss "$srv_ns")
warm_up kea
k_base=$(ns_rss "$srv_ns")
read -r k_do k_of k_rq k_ack < <(run_clients kea)
sleep "$settle"
k_after=$(ns_rss "$srv_ns")
k_leases=$(awk -F, 'NR > 1 && $2 != "" { seen[$2] = 1 } END { print length(seen) }' "$work/kea/kea-leases4.csv" 2>/dev/null || echo n/a)
{
  echo "kea-dhcp4 (context, no per-machine actors): idle RSS $k_idle kB, after warm-up $k_base kB; after $n more clients ($k_ack ACKs; $k_leases leased MACs in all) RSS $k_after kB, delta $((k_after - k_base)) kB"
  echo "elapsed: $(awk -v a="$t_start" -v z="$(now)" 'BEGIN { printf "%.0f", z - a }') s (without the build)"
} | tee -a "$results"
stop_pid "$kea_pid"
echo "results: $results; perfdhcp outputs, machine list and server logs: $work"
