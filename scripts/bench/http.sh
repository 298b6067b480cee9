#!/usr/bin/env bash
# HTTP boot throughput: Provisioner's HTTP boot listener vs nginx serving the same files, one run.
#
#   scripts/bench/http.sh [RUNS] [DURATION]      (defaults 5 runs, 15s; about 9 min)
#   BENCH_HTTP_FILES="big"                       only some of: small big boot
#
# Topology (created and deleted by name here): namespace pvb-http-srv with bridge br0 10.78.32.1/24, namespace
# pvb-http-cli with eth0 10.78.32.2/24 on a veth pair into br0. Provisioner listens on 10.78.32.1:8080 and nginx on
# :8081 in the server namespace, both for the whole bench; wrk runs in the client namespace. Only one server runs
# at a time: the other is frozen with SIGSTOP (no CPU, not even timers). Each file is measured on both servers
# back to back (order alternating), because this machine's speed drifts by up to 1.7x over minutes (the same
# build measured 16k and 27k req/s on the 70 KB file in consecutive minutes while nginx stayed near 20k): a
# pair measured seconds apart gives a ratio that drift does not decide.
#
# Per server per run, `wrk -t2 -c64 -dDURATION --timeout 60s --latency URL` on (--timeout: wrk's default 2 s
# counts every 30 MiB response that takes longer than 2 s on 64 connections as an error and drops its latency):
#   /assets/small.bin                 copy of /usr/lib/ipxe/undionly.kpxe (~70 KB)
#   /assets/big.bin                   30 MiB random
#   /boot/52:54:00:00:00:01.ipxe      Provisioner renders it from the machine's state and profile;
#                                     nginx serves a static copy of what Provisioner returned (same bytes)
# Before the measured runs each server gets one discarded warm-up pass per file (`wrk -d$BENCH_HTTP_WARMUP`, default 10s):
# .NET compiles hot code in tiers (and with profile-guided optimisation) during its first seconds under load, so a
# freshly started node measured at once reports its start-up, not its steady state (measured: the 70 KB asset at
# 13k req/s in the first 10 s after start, 20k once warm); nginx is warmed the same way.
# Reported: req/s, MB/s (10^6 B), average latency, errors (socket errors + non-2xx); medians over the runs and the
# median of the per-pair ratios Provisioner/nginx (one pair swings by up to 0.3 here, hence 5 runs).
# Provisioner answers a whole GET of a file over http.cache-max-file-bytes with sendfile on a connection that then
# closes (wrk reconnects; it counts no error for that); nginx keeps its connections.
# nginx: 2 workers (= cores), sendfile on, access log on (to a file), its own pid/log in the work dir;
# Provisioner: http only (dhcp, tftp off), minimal profile, default logging.
source "$(dirname "$0")/lib.sh"

runs=${1:-5}
dur=${2:-15s}
warmup=${BENCH_HTTP_WARMUP:-10s}
bench_init http 32
for tool in wrk nginx curl timeout; do command -v "$tool" >/dev/null || { echo "http bench: missing $tool (scripts/setup.sh)" >&2; exit 1; }; done
build_provisioner

rm -rf "$work"; mkdir -p "$work/assets" "$work/data" "$work/config" "$work/nginx/boot" "$work/nginx/tmp"
chmod 755 "$work" "$work/assets" "$work/nginx" "$work/nginx/boot"
head -c $((30 * 1024 * 1024)) /dev/urandom >"$work/assets/big.bin"
cp /usr/lib/ipxe/undionly.kpxe "$work/assets/small.bin"
chmod 644 "$work/assets/"*.bin
write_minimal_profile "$work/config"
mac=52:54:00:00:00:01

write_node_conf "$work/provisioner.conf" "    dhcp.enabled = off
    tftp.enabled = off
    http { enabled = on, listen = \"http://$srv_ip:8080\", assets = \"$work/assets\" }"

cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen $srv_ip:8081;
    location /assets/ { alias $work/assets/; }
    location /boot/ { root $work/nginx; default_type text/plain; }
  }
}
CONF

net_up

declare -A port=([provisioner]=8080 [nginx]=8081) spid
start_server() {
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.log"
      spid[$1]=$prov_pid ;;
    nginx)
      start_in "$srv_ns" 3600 "$work/nginx.log" nginx -c "$work/nginx.conf" -g 'daemon off;'
      spid[$1]=$last_pid ;;
  esac
  for _ in $(seq 1 100); do
    ip netns exec "$cli_ns" curl -fsS -m 3 "http://$srv_ip:${port[$1]}/assets/small.bin" -o "$work/probe" 2>/dev/null \
      && cmp -s "$work/probe" "$work/assets/small.bin" && return 0
    kill -0 "${spid[$1]}" 2>/dev/null || { echo "http bench: $1 exited" >&2; tail "$work/$1.log" >&2; return 1; }
    sleep 0.2
  done
  echo "http bench: $1 never served small.bin" >&2
  return 1
}

signal_server() { signal_tree "$1" "${spid[$2]}"; }
only() {
  local s
  for s in "${servers[@]}"; do [ "$s" = "$1" ] || signal_server STOP "$s"; done
  signal_server CONT "$1"
  sleep 0.5
}
resume_all() { local s; for s in "${servers[@]}"; do signal_server CONT "$s"; done; }
# shellcheck disable=SC2046
server_rss() { status_kb VmRSS $(pid_tree "${spid[$1]}"); }

# wrk_run URL LOG: prints "REQ/S MB/S AVG_LATENCY ERRORS"
wrk_run() {
  timeout 120 ip netns exec "$cli_ns" wrk -t2 -c64 -d"$dur" --timeout 60s --latency "$1" >"$2" 2>&1 || true
  awk '
    function mb(v,   n, u) { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
      if (u == "GB") return n * 1073741824 / 1e6; if (u == "MB") return n * 1048576 / 1e6; if (u == "KB") return n * 1024 / 1e6; return n / 1e6 }
    /^Requests\/sec:/ { rps = $2 }
    /^Transfer\/sec:/ { mbs = mb($2) }
    /^ +Latency/ && !lat { lat = $2 }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { err += $5 }
    END { printf "%.0f %.1f %s %d\n", rps, mbs, (lat == "" ? "n/a" : lat), err }' "$2"
}

servers=(provisioner nginx)
targets=(${BENCH_HTTP_FILES:-small big boot})
declare -A url=([small]=/assets/small.bin [big]=/assets/big.bin [boot]=/boot/$mac.ipxe)
declare -A rps mbs ratios
results="$work/results.txt"

start_server provisioner
ip netns exec "$cli_ns" curl -fsS -m 10 "http://$srv_ip:8080/boot/$mac.ipxe" -o "$work/nginx/boot/$mac.ipxe"
chmod 644 "$work/nginx/boot/$mac.ipxe"
start_server nginx
trap 'resume_all; bench_cleanup' EXIT

for s in "${servers[@]}"; do
  only "$s"
  for t in "${targets[@]}"; do
    timeout 120 ip netns exec "$cli_ns" wrk -t2 -c64 -d"$warmup" --timeout 60s "http://$srv_ip:${port[$s]}${url[$t]}" >/dev/null 2>&1 || true
  done
done

echo "wrk -t2 -c64 -d$dur --timeout 60s --latency against http://$srv_ip:8080 (Provisioner) and :8081 (nginx) in ns $srv_ns from ns $cli_ns, $runs runs after a $warmup warm-up per file and server; each file measured on both servers back to back" | tee "$results"
printf '%-4s %-12s %-6s %10s %10s %10s %8s\n' run server file req/s MB/s lat_avg errors | tee -a "$results"
for run in $(seq 1 "$runs"); do
  i=0
  for t in "${targets[@]}"; do
    declare -A pair=()
    for k in 0 1; do
      s=${servers[$(( (run - 1 + i + k) % 2 ))]}
      only "$s"
      read -r r m l e < <(wrk_run "http://$srv_ip:${port[$s]}${url[$t]}" "$work/wrk.$s.$t.$run.txt")
      rps[$s.$t]+="$r "; mbs[$s.$t]+="$m "; pair[$s]=$r
      printf '%-4s %-12s %-6s %10s %10s %10s %8s\n' "$run" "$s" "$t" "$r" "$m" "$l" "$e" | tee -a "$results"
    done
    ratios[$t]+="$(ratio "${pair[provisioner]}" "${pair[nginx]}") "
    i=$((i + 1))
  done
done
resume_all
for s in "${servers[@]}"; do echo "$s RSS after the load: $(server_rss "$s") kB" >>"$work/rss.txt"; done
for s in "${servers[@]}"; do stop_pid "${spid[$s]}"; done

# shellcheck disable=SC2086
{
  echo
  echo "medians over $runs runs"
  printf '%-6s %14s %14s %12s %12s %12s %8s %s\n' file prov_req/s nginx_req/s prov_MB/s nginx_MB/s req_ratio MB_ratio "pair ratios (req/s)"
  for t in "${targets[@]}"; do
    pr=$(median ${rps[provisioner.$t]}); nr=$(median ${rps[nginx.$t]})
    pm=$(median ${mbs[provisioner.$t]}); nm=$(median ${mbs[nginx.$t]})
    printf '%-6s %14s %14s %12s %12s %12s %8s %s\n' "$t" "$pr" "$nr" "$pm" "$nm" "$(median ${ratios[$t]})" "$(ratio "$pm" "$nm")" "${ratios[$t]}"
  done
  echo "(req_ratio: median of the per-pair ratios Provisioner/nginx; MB_ratio: of the medians)"
  cat "$work/rss.txt" 2>/dev/null || true
  cat "$work/notes.txt" 2>/dev/null || true
} | tee -a "$results"
rm -f "$work/assets/big.bin" "$work/probe" "$work/nginx/access.log"
echo "results: $results; wrk outputs and server logs: $work"
