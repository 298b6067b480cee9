# Shared helpers for scripts/bench/{tftp,http,dhcp,boot}.sh (sourced, not run).
#
# NETWORK SAFETY: every server runs inside a network namespace this file creates and deletes by name
# (pvb-<bench>-srv holding bridge br0, pvb-<bench>-cli joined to it by a veth pair). Nothing listens on a
# real interface or in the root namespace. Every long-running process is started under `timeout`, its PID is
# recorded, and only recorded PIDs (plus whatever is left running inside our own namespaces) are signalled.

set -euo pipefail

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prov_out="${BENCH_PROVISIONER:-/tmp/bench-provisioner}"

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }

# bench_init NAME OCTET: namespaces pvb-NAME-{srv,cli}, network 10.78.OCTET.0/24, work dir /tmp/pvbench-NAME.
bench_init() {
  bench_name=$1
  srv_ns="pvb-$1-srv"
  cli_ns="pvb-$1-cli"
  veth_srv="vb$1s"
  net_prefix="10.78.$2"
  srv_ip="$net_prefix.1"
  cli_ip="$net_prefix.2"
  work="/tmp/pvbench-$1"
  started_pids=()
  # One run per bench at a time (the namespaces and the work dir are fixed per bench): a second run of the same
  # bench, e.g. from another worktree, stops here instead of deleting the first one's namespaces.
  exec {bench_lock_fd}>"/tmp/pvbench-$1.lock"
  flock -n "$bench_lock_fd" || { echo "bench: another $1 bench is running (/tmp/pvbench-$1.lock)" >&2; exit 1; }
  # Sysctls this bench changes are saved here (outside $work, which each run deletes) and restored on exit; a file
  # left by a run that was killed with SIGKILL is restored now.
  sysctl_saved="/tmp/pvbench-$1.sysctl-saved"
  sysctl_restore
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# sysctl_set KEY VALUE: sets a (global) sysctl for the bench; the first value seen is saved and restored on exit.
sysctl_set() {
  local key=$1 value=$2 old
  old=$(sysctl -n "$key")
  grep -q "^$key " "$sysctl_saved" 2>/dev/null || echo "$key $old" >>"$sysctl_saved"
  sysctl -q -w "$key=$value"
}
# sysctl_restore: puts back every value sysctl_set saved (called on exit, and at start for a killed run's leftovers).
sysctl_restore() {
  [ -s "${sysctl_saved:-}" ] || return 0
  local key value
  while read -r key value; do
    sysctl -q -w "$key=$value" && echo "bench: restored $key = $value" >&2
  done <"$sysctl_saved"
  rm -f "$sysctl_saved"
}

ns_pids() { ip netns pids "$1" 2>/dev/null || true; }

bench_cleanup() {
  local pid
  for pid in "${started_pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  # Anything still running inside our own namespaces was started by us (servers' forked children).
  for ns in "$srv_ns" "$cli_ns"; do
    for pid in $(ns_pids "$ns"); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for ns in "$srv_ns" "$cli_ns"; do
    for pid in $(ns_pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  sysctl_restore
}

# net_up [MTU]: server namespace with br0 ($srv_ip/24), client namespace with eth0 ($cli_ip/24) on a veth pair.
net_up() {
  local mtu=${1:-1500}
  ip netns del "$srv_ns" 2>/dev/null || true
  ip netns del "$cli_ns" 2>/dev/null || true
  ip netns add "$srv_ns"
  ip netns add "$cli_ns"
  ip -n "$srv_ns" link set lo up
  ip -n "$cli_ns" link set lo up
  ip -n "$srv_ns" link add br0 type bridge
  ip -n "$srv_ns" link set br0 mtu "$mtu"
  ip -n "$srv_ns" addr add "$srv_ip/24" dev br0
  ip -n "$srv_ns" link set br0 up
  ip -n "$srv_ns" link add "$veth_srv" mtu "$mtu" type veth peer name eth0 netns "$cli_ns"
  ip -n "$cli_ns" link set eth0 mtu "$mtu"
  ip -n "$srv_ns" link set "$veth_srv" master br0 up
  ip -n "$cli_ns" addr add "$cli_ip/24" dev eth0
  ip -n "$cli_ns" link set eth0 up
  for _ in $(seq 1 50); do
    ip netns exec "$cli_ns" ping -c1 -W1 "$srv_ip" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: $cli_ns cannot reach $srv_ip" >&2
  return 1
}

# start_in NS LIMIT_SECONDS LOG CMD...: background process in NS bounded by timeout; sets last_pid.
start_in() {
  local ns=$1 limit=$2 log=$3; shift 3
  # The bench's lock fd is closed for the server: one that outlives the bench must not hold the lock.
  timeout "$limit" ip netns exec "$ns" "$@" >"$log" 2>&1 {bench_lock_fd}>&- &
  last_pid=$!
  started_pids+=("$last_pid")
}

# pid_tree PID: the processes under a recorded PID, all levels (the `timeout` wrapper itself is left out, so its
# own timer keeps counting while what runs under it is frozen).
pid_tree() { local c; for c in $(pgrep -P "$1"); do echo "$c"; pid_tree "$c"; done; }
# signal_tree SIGNAL PID: SIGNAL (e.g. STOP, CONT) to every process under PID.
signal_tree() { local p; for p in $(pid_tree "$2"); do kill -"$1" "$p" 2>/dev/null || true; done; }

# stop_pid PID: TERM (timeout forwards it), wait at most 10 s, then KILL.
stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Publishes the provisioner executable into $prov_out (incremental, every time; BENCH_REBUILD=0 skips it).
build_provisioner() {
  # Always (incrementally) republished: a stale binary from an earlier checkout silently benchmarks old code.
  # BENCH_REBUILD=0 reuses $prov_out as it is (e.g. to compare against a saved build).
  # `dotnet publish`, not `dotnet build`: what we ship is ReadyToRun-compiled (Provisioner.Host.csproj), and a fresh
  # node's first seconds differ with it (the first publish in a checkout takes ~1 min more for crossgen2).
  if [ "${BENCH_REBUILD:-1}" = 1 ] || [ ! -f "$prov_out/provisioner.dll" ]; then
    echo "== dotnet publish src/Provisioner.Host -c Release -o $prov_out"
    (cd "$bench_root" && timeout 900 dotnet publish src/Provisioner.Host -c Release -o "$prov_out" -nologo -v quiet >/dev/null)
  fi
}

# BENCH_LOGS: how much the DHCP servers log. "shipped" (default): as each ships, Kea at INFO (the severity of Debian's
# /etc/kea/kea-dhcp4.conf: a DHCP4_LEASE_ADVERT line per OFFER and a DHCP4_LEASE_ALLOC line per ACK) and Provisioner
# at Information (a line per ACK). "quiet": Kea at WARN and Provisioner's per-exchange lines off (DhcpHandler at
# Warning), which is how the benches ran until the tenth session.
bench_logs() {
  case "${BENCH_LOGS:-shipped}" in
    shipped|quiet) echo "${BENCH_LOGS:-shipped}" ;;
    *) echo "bench: BENCH_LOGS must be shipped or quiet, not '${BENCH_LOGS}'" >&2; return 1 ;;
  esac
}

kea_severity() { if [ "$(bench_logs)" = quiet ]; then echo WARN; else echo INFO; fi; }

# start_provisioner CONF LOG: runs `provisioner serve` in $srv_ns, waits for /healthz (60 s); sets prov_pid.
# Its RSS/CPU are read from the child of prov_pid (timeout -> env/ip exec -> dotnet keeps one PID).
start_provisioner() {
  local conf=$1 log=$2 quiet=""
  [ "$(bench_logs)" = quiet ] && quiet="Logging__LogLevel__Provisioner.Edge.Dhcp.DhcpHandler=Warning"
  # BENCH_PROVISIONER_ENV: extra VAR=VALUE words for the node, e.g. "Logging__LogLevel__Default=Warning" to see
  # what per-request logging costs (default: none, the node as shipped).
  # shellcheck disable=SC2086
  start_in "$srv_ns" "${BENCH_SERVER_LIMIT:-3600}" "$log" env $quiet ${BENCH_PROVISIONER_ENV:-} dotnet "$prov_out/provisioner.dll" serve --hocon-dir "$prov_out/hocon" --config "$conf"
  prov_pid=$last_pid
  for _ in $(seq 1 240); do
    ip netns exec "$srv_ns" curl -fsS -m 2 http://127.0.0.1:9780/healthz >/dev/null 2>&1 && return 0
    kill -0 "$prov_pid" 2>/dev/null || { echo "bench: provisioner serve exited:" >&2; tail -40 "$log" >&2; return 1; }
    sleep 0.25
  done
  echo "bench: provisioner serve not healthy after 60 s" >&2; tail -40 "$log" >&2
  return 1
}

# Writes the profile a node needs for HTTP to start (as ProvisionerNode.WriteMinimalProfileAsync does).
write_minimal_profile() {
  local config=$1
  mkdir -p "$config/profiles"
  cat >"$config/profiles/none.profile" <<'EOF'
kernel = http://example.invalid/vmlinuz
initrd = http://example.invalid/initrd.img
repo-url = http://example.invalid/os
kickstart = none.ks
root-password-hash = $6$none$none
EOF
  printf '%%post\ncurl {{phone_home_url}}\n%%end\n' >"$config/profiles/none.ks"
  echo "default none" >"$config/rules.conf"
}

now() { date +%s.%N; }

# perfdhcp options of PXE firmware never seen before: option 60 of a BIOS PXE ROM and option 93 (architecture 0).
pxe_opts=(-o "60,$(printf '%s' "PXEClient:Arch:00000:UNDI:002001" | od -An -tx1 | tr -d ' \n')" -o 93,0000)

# perfdhcp_stats FILE: "ACKS DO_SENT DO_DROP% RA_DROP% NON_UNIQUE+REJECTED" from perfdhcp's final report.
perfdhcp_stats() {
  awk '
    /^\*\*\*Statistics for: DISCOVER-OFFER/ { x = "do" }
    /^\*\*\*Statistics for: REQUEST-ACK/ { x = "ra" }
    x != "" && /^sent packets:/ { sent[x] = $3 }
    x != "" && /^received packets:/ { recv[x] = $3 }
    x != "" && /^drops:/ { drops[x] = $2 }
    x != "" && /^non unique addresses:/ { nu[x] = $4 }
    x != "" && /^rejected leases:/ { rj[x] = $3 }
    function pct(k) { return sent[k] > 0 ? 100 * drops[k] / sent[k] : 100 }
    END { printf "%d %d %.2f %.2f %d\n", recv["ra"], sent["do"], pct("do"), pct("ra"), nu["do"] + nu["ra"] + rj["do"] + rj["ra"] }' "$1"
}
# ratio A B -> A/B with 2 decimals ("n/a" when either is missing or B is 0)
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }
# median of numbers (one per argument)
# (anything else, e.g. "fail" or "-" for a case not measured, is left out; none left -> "n/a")
median() { printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# status_kb FIELD PID...: a /proc/PID/status field in kB (VmRSS, VmHWM) summed over the PIDs (shared pages counted
# once per process; a PID that is gone counts 0).
status_kb() {
  local field=$1 total=0 pid kb; shift
  for pid in "$@"; do
    kb=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
# ns_rss NS: total VmRSS (kB) of every process in namespace NS (a server with its workers).
# shellcheck disable=SC2046
ns_rss() { status_kb VmRSS $(ns_pids "$1"); }

# ns_cpu_ticks NS: CPU ticks (utime+stime+cutime+cstime; a forked child counts once reaped) of every process in NS.
ns_cpu_ticks() {
  local t=0 p
  for p in $(ns_pids "$1"); do t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}

# write_node_conf FILE EDGE: a bench node's file: data in $work/data, admin API on 127.0.0.1:9780 (inside the server
# namespace), the edge on br0 at $srv_ip with profiles from $work/config, and EDGE (HOCON lines inside edge { }) for
# its services. BENCH_PROVISIONER_HOCON, if set, is appended (later keys win): a way to try a setting, e.g.
#   BENCH_PROVISIONER_HOCON='provisioner.edge.dhcp.boot-files.x64-uefi = "snponly.efi"' scripts/bench/boot.sh 1
write_node_conf() {
  cat >"$1" <<CONF
provisioner {
  persistence.data-dir = "$work/data"
  node.port = 0
  admin.listen = "http://127.0.0.1:9780"
  edge {
    interface = br0
    address = "$srv_ip"
    config-dir = "$work/config"
$2
  }
}
CONF
  if [ -n "${BENCH_PROVISIONER_HOCON:-}" ]; then printf '%s\n' "$BENCH_PROVISIONER_HOCON" >>"$1"; fi
}

# write_dhcp_configs NETWORK POOL_START POOL_END: the DHCP benchmarks' node file ($work/provisioner.conf: DHCP only on
# br0, one subnet, lease time 1 h) and the same subnet for Kea ($work/kea/kea-dhcp4.conf: memfile lease file with
# persist on, WARN log, and client classes giving PXE clients what Provisioner's defaults give them: option 60 starting
# "PXEClient" with option 93 = 0 (BIOS) -> undionly.kpxe, 7 or 9 (x64 UEFI) -> ipxe.efi, next-server = this edge).
write_dhcp_configs() {
  local network=$1 pool_start=$2 pool_end=$3
  write_node_conf "$work/provisioner.conf" "    tftp.enabled = off
    http.enabled = off
    dhcp {
      enabled = on
      subnets = [ { id = bench, network = \"$network\", pool-start = \"$pool_start\", pool-end = \"$pool_end\", router = \"$srv_ip\", lease-time = 1h } ]
    }"

cat >"$work/kea/kea-dhcp4.conf" <<CONF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "br0" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$work/kea/kea-leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "renew-timer": 1800,
    "rebind-timer": 3150,
    "client-classes": [
      { "name": "pxe-bios", "test": "substring(option[60].hex,0,9) == 'PXEClient' and option[93].hex == 0x0000",
        "next-server": "$srv_ip", "boot-file-name": "undionly.kpxe" },
      { "name": "pxe-x64-uefi", "test": "substring(option[60].hex,0,9) == 'PXEClient' and (option[93].hex == 0x0007 or option[93].hex == 0x0009)",
        "next-server": "$srv_ip", "boot-file-name": "ipxe.efi" }
    ],
    "subnet4": [
      {
        "id": 1,
        "subnet": "$network",
        "pools": [ { "pool": "$pool_start - $pool_end" } ],
        "option-data": [ { "name": "routers", "data": "$srv_ip" } ]
      }
    ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "$work/kea/kea.log" } ], "severity": "$(kea_severity)" } ]
  }
}
CONF
}

# capture_start NS IFACE FILE FILTER...: tcpdump in NS on IFACE writing FILE (first 600 bytes of each packet, 64 MiB
# kernel buffer so that bursts are not dropped), bounded by BENCH_SERVER_LIMIT; waits until it listens; sets cap_pid.
capture_start() {
  local ns=$1 iface=$2 file=$3; shift 3
  rm -f "$file"
  start_in "$ns" "${BENCH_SERVER_LIMIT:-3600}" "$file.log" tcpdump -i "$iface" -n -s 600 -B 65536 -Z root -w "$file" "$@"
  cap_pid=$last_pid
  for _ in $(seq 1 50); do grep -q 'listening on' "$file.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: tcpdump did not start:" >&2; cat "$file.log" >&2
  return 1
}
# capture_stop FILE: stops the capture after 1.2 s (libpcap hands packets over in blocks with a 1 s timeout; stopping
# sooner loses the last block) and prints "CAPTURED KERNEL_DROPPED UNWRITTEN": UNWRITTEN = packets the filter accepted
# that were still in the ring when tcpdump stopped (they arrived in the last ~1.2 s, after what was measured).
capture_stop() {
  sleep 1.2
  kill -INT "$cap_pid" 2>/dev/null || true
  wait "$cap_pid" 2>/dev/null || true
  awk '/packets captured/ { c = $1 } /received by filter/ { r = $1 } /dropped by kernel/ { d = $1 }
       END { u = r - c - d; if (u < 0) u = 0; print c + 0, d + 0, u }' "$1.log"
}
