#!/usr/bin/env bash
# HTTP boot throughput: Provisioner's HTTP boot listener vs nginx serving the same files, one run.
#
#   scripts/bench/http.sh [RUNS] [DURATION]      (defaults 3 runs, 15s; about 5 min)
#
# Topology (created and deleted by name here): namespace pvb-http-srv with bridge br0 10.78.32.1/24, namespace
# pvb-http-cli with eth0 10.78.32.2/24 on a veth pair into br0. One server at a time listens on 10.78.32.1:8080
# in the server namespace; wrk runs in the client namespace. Servers are interleaved (order alternates per run).
#
# Per server per run, `wrk -t2 -c64 -dDURATION --timeout 60s --latency URL` on (--timeout: wrk's default 2 s
# counts every 30 MiB response that takes longer than 2 s on 64 connections as an error and drops its latency):
#   /assets/small.bin                 copy of /usr/lib/ipxe/undionly.kpxe (~70 KB)
#   /assets/big.bin                   30 MiB random
#   /boot/52:54:00:00:00:01.ipxe      Provisioner renders it from the machine's state and profile;
#                                     nginx serves a static copy of what Provisioner returned (same bytes)
# Before the measured runs each server gets a discarded warm-up pass per file (`wrk -d$BENCH_HTTP_WARMUP`, default 10s):
# .NET compiles hot code in tiers (and with profile-guided optimisation) during its first seconds under load, so a
# freshly started node measured at once reports its start-up, not its steady state (measured: the 70 KB asset at
# 13k req/s in the first 10 s after start, 20k once warm); nginx is warmed the same way.
# Reported: req/s, MB/s (10^6 B), average latency, errors (socket errors + non-2xx), ratios Provisioner/nginx
# of the medians. nginx: 2 workers (= cores), sendfile on, access log on (to a file), its own pid/log in the
# work dir; Provisioner: http only (dhcp, tftp off), minimal profile, default logging.
source "$(dirname "$0")/lib.sh"

runs=${1:-3}
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
    listen $srv_ip:8080;
    location /assets/ { alias $work/assets/; }
    location /boot/ { root $work/nginx; default_type text/plain; }
  }
}
CONF

net_up

server_pid=""
start_server() {
  case $1 in
    provisioner)
      start_provisioner "$work/provisioner.conf" "$work/provisioner.$2.log"
      server_pid=$prov_pid ;;
    nginx)
      start_in "$srv_ns" 3600 "$work/nginx.$2.log" nginx -c "$work/nginx.conf" -g 'daemon off;'
      server_pid=$last_pid ;;
  esac
  for _ in $(seq 1 100); do
    ip netns exec "$cli_ns" curl -fsS -m 3 "http://$srv_ip:8080/assets/small.bin" -o "$work/probe" 2>/dev/null \
      && cmp -s "$work/probe" "$work/assets/small.bin" && return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "http bench: $1 exited" >&2; tail "$work/$1.$2.log" >&2; return 1; }
    sleep 0.2
  done
  echo "http bench: $1 never served small.bin" >&2
  return 1
}

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
targets=(small big boot)
declare -A url=([small]=/assets/small.bin [big]=/assets/big.bin [boot]=/boot/$mac.ipxe)
declare -A rps mbs
results="$work/results.txt"
echo "wrk -t2 -c64 -d$dur --timeout 60s --latency against http://$srv_ip:8080 (ns $srv_ns) from ns $cli_ns, $runs runs, each after a $warmup warm-up per file" | tee "$results"
printf '%-4s %-12s %-6s %10s %10s %10s %8s\n' run server file req/s MB/s lat_avg errors | tee -a "$results"
for run in $(seq 1 "$runs"); do
  for k in 0 1; do
    s=${servers[$(( (run - 1 + k) % 2 ))]}
    start_server "$s" "$run"
    if [ "$s" = provisioner ] && [ ! -s "$work/nginx/boot/$mac.ipxe" ]; then
      ip netns exec "$cli_ns" curl -fsS -m 10 "http://$srv_ip:8080/boot/$mac.ipxe" -o "$work/nginx/boot/$mac.ipxe"
      chmod 644 "$work/nginx/boot/$mac.ipxe"
    fi
    if [ "$s" = nginx ] && [ ! -s "$work/nginx/boot/$mac.ipxe" ]; then
      echo "boot script not captured yet: nginx serves a placeholder in run $run" >>"$work/notes.txt"
      printf '#!ipxe\necho placeholder\n' >"$work/nginx/boot/$mac.ipxe"; chmod 644 "$work/nginx/boot/$mac.ipxe"; rm_placeholder=1
    fi
    for t in "${targets[@]}"; do
      timeout 120 ip netns exec "$cli_ns" wrk -t2 -c64 -d"$warmup" --timeout 60s "http://$srv_ip:8080${url[$t]}" >/dev/null 2>&1 || true
    done
    for t in "${targets[@]}"; do
      read -r r m l e < <(wrk_run "http://$srv_ip:8080${url[$t]}" "$work/wrk.$s.$t.$run.txt")
      rps[$s.$t]+="$r "; mbs[$s.$t]+="$m "
      printf '%-4s %-12s %-6s %10s %10s %10s %8s\n' "$run" "$s" "$t" "$r" "$m" "$l" "$e" | tee -a "$results"
    done
    echo "run $run: $s RSS after the load (all processes in $srv_ns): $(ns_rss "$srv_ns") kB" >>"$work/rss.txt"
    if [ "${rm_placeholder:-0}" = 1 ]; then rm -f "$work/nginx/boot/$mac.ipxe"; rm_placeholder=0; fi
    stop_pid "$server_pid"
  done
done

# shellcheck disable=SC2086
{
  echo
  echo "medians over $runs runs"
  printf '%-6s %14s %14s %12s %12s %12s %8s\n' file prov_req/s nginx_req/s prov_MB/s nginx_MB/s req_ratio MB_ratio
  for t in "${targets[@]}"; do
    pr=$(median ${rps[provisioner.$t]}); nr=$(median ${rps[nginx.$t]})
    pm=$(median ${mbs[provisioner.$t]}); nm=$(median ${mbs[nginx.$t]})
    printf '%-6s %14s %14s %12s %12s %12s %8s\n' "$t" "$pr" "$nr" "$pm" "$nm" "$(ratio "$pr" "$nr")" "$(ratio "$pm" "$nm")"
  done
  echo "(ratios are Provisioner/nginx)"
  cat "$work/rss.txt" 2>/dev/null || true
  cat "$work/notes.txt" 2>/dev/null || true
} | tee -a "$results"
rm -f "$work/assets/big.bin" "$work/probe" "$work/nginx/access.log"
echo "results: $results; wrk outputs and server logs: $work"
