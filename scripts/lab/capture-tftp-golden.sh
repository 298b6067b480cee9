#!/usr/bin/env bash
# Re-runnable capture of real TFTP client traffic for the codec's golden tests.
#
#   scripts/lab/capture-tftp-golden.sh [output-dir]   (default: tests/Provisioner.Protocols.Tests/Golden/tftp)
#
# NETWORK SAFETY: the TFTP server runs only inside a private network namespace pair joined by a veth
# pair (10.99.0.1/24 <-> 10.99.0.2/24) that this script creates and deletes by name. Nothing listens on
# a real interface or in the root namespace. Every long-running command is bounded by `timeout`, and
# only the PIDs started here are ever signalled.
#
# Server: tftpd-hpa's in.tftpd. When /usr/sbin/in.tftpd is absent the .deb (and libwrap0, which it links)
# is downloaded with `apt-get download` and unpacked under /tmp; nothing is installed system-wide.
#
# Produces, one pcap per exchange (classic pcap, link type 1 Ethernet, UDP only):
#   tftp-hpa-netascii-get.pcap  tftp-hpa client, default (netascii) mode, no options
#   atftp-options-get.pcap      atftp with blksize 1468, tsize 0, windowsize 4 (tftpd-hpa 5.2 ignores windowsize)
#   atftp-tsize-enable-get.pcap atftp with the man page's "tsize enable" spelling
#   curl-blksize-get.pcap       curl --tftp-blksize 1468
#   tftp-hpa-missing-file.pcap  tftp-hpa asks for a file that does not exist -> ERROR 1
# and hello.txt, the 3000-byte file served (the tests compare decoded transfers against it).
set -euo pipefail
cd "$(dirname "$0")/../.."

out_dir="$(realpath -m "${1:-tests/Provisioner.Protocols.Tests/Golden/tftp}")"
srv_ns=tftpcap-srv
cli_ns=tftpcap-cli
srv_if=tftpcap-s
cli_if=tftpcap-c
srv_ip=10.99.0.1
cli_ip=10.99.0.2
work=/tmp/tftpcap
root_dir=/tmp/tftproot

[ "$(id -u)" -eq 0 ] || { echo "capture-tftp-golden: must run as root (network namespaces)" >&2; exit 1; }
for tool in ip tcpdump tftp atftp curl timeout; do
  command -v "$tool" >/dev/null || { echo "capture-tftp-golden: missing $tool (run scripts/setup.sh)" >&2; exit 1; }
done

started_pids=()
current_tcpdump=""
cleanup() {
  if [ -n "$current_tcpdump" ]; then kill -INT "$current_tcpdump" 2>/dev/null || true; wait "$current_tcpdump" 2>/dev/null || true; fi
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$srv_ns" 2>/dev/null || true
  ip netns del "$cli_ns" 2>/dev/null || true
}
trap cleanup EXIT

# --- server binary -----------------------------------------------------------------------------------
tftpd=/usr/sbin/in.tftpd
tftpd_env=()
if [ ! -x "$tftpd" ]; then
  mkdir -p "$work/deb"
  if [ ! -x "$work/deb/root/usr/sbin/in.tftpd" ]; then
    (cd "$work/deb" && timeout 120 apt-get download tftpd-hpa libwrap0 \
        || { timeout 300 apt-get update -qq && timeout 120 apt-get download tftpd-hpa libwrap0; })
    for deb in "$work"/deb/*.deb; do dpkg-deb -x "$deb" "$work/deb/root"; done
  fi
  tftpd="$work/deb/root/usr/sbin/in.tftpd"
  tftpd_env=(env "LD_LIBRARY_PATH=$work/deb/root/usr/lib/x86_64-linux-gnu:$work/deb/root/lib/x86_64-linux-gnu")
fi

# --- served file ---------------------------------------------------------------------------------------
# 3000 bytes of text laid out so the netascii transfer (512-byte blocks) splits both escapes:
#   a 511-character line: its LF becomes CR LF with the CR as the last byte of block 1;
#   510 characters then a bare CR: it becomes CR NUL with the CR as the last byte of block 2.
rm -rf "$root_dir"; mkdir -p "$root_dir"
{
  printf '%0511d\n' 0 | tr 0 A
  printf '%0510d\r' 0 | tr 0 B
  for i in $(seq 1 40); do printf 'line %02d: the quick brown fox jumps over the lazy dog 0123456789\n' "$i"; done
} > "$root_dir/hello.txt"
truncate -s 3000 "$root_dir/hello.txt"
[ "$(stat -c %s "$root_dir/hello.txt")" -eq 3000 ] || { echo "capture-tftp-golden: hello.txt is not 3000 bytes" >&2; exit 1; }
chmod 755 "$root_dir"; chmod 644 "$root_dir/hello.txt"

# --- namespaces --------------------------------------------------------------------------------------
cleanup
ip netns add "$srv_ns"
ip netns add "$cli_ns"
ip link add "$srv_if" netns "$srv_ns" type veth peer name "$cli_if" netns "$cli_ns"
ip -n "$srv_ns" addr add "$srv_ip/24" dev "$srv_if"
ip -n "$cli_ns" addr add "$cli_ip/24" dev "$cli_if"
ip -n "$srv_ns" link set lo up
ip -n "$cli_ns" link set lo up
ip -n "$srv_ns" link set "$srv_if" up
ip -n "$cli_ns" link set "$cli_if" up
# Wait for both ends to leave DAD/carrier-down so the first packet is not lost.
for _ in $(seq 1 50); do
  ip netns exec "$cli_ns" ping -c1 -W1 "$srv_ip" >/dev/null 2>&1 && break
  sleep 0.1
done

timeout 300 ip netns exec "$srv_ns" "${tftpd_env[@]}" "$tftpd" -L -v -u nobody -s "$root_dir" -a "$srv_ip:69" \
  >"$work/in.tftpd.log" 2>&1 &
started_pids+=("$!")
sleep 0.5

mkdir -p "$out_dir" "$work"
# capture NAME CLIENT-COMMAND...: one pcap per exchange, tcpdump only in the server namespace.
capture() {
  local name=$1; shift
  local pcap="$work/$name.pcap"
  rm -f "$pcap"
  timeout 60 ip netns exec "$srv_ns" tcpdump -i "$srv_if" --immediate-mode -U -n -Z root -w "$pcap" udp \
    >"$work/$name.tcpdump.log" 2>&1 &
  local tcpdump_pid=$!
  current_tcpdump=$tcpdump_pid
  for _ in $(seq 1 50); do grep -q 'listening on' "$work/$name.tcpdump.log" && break; sleep 0.1; done
  echo "capture-tftp-golden: $name: $*"
  (cd "$work" && timeout 30 ip netns exec "$cli_ns" "$@") || echo "capture-tftp-golden: $name: client exited $?"
  sleep 0.5
  kill -INT "$tcpdump_pid" 2>/dev/null || true
  wait "$tcpdump_pid" 2>/dev/null || true
  current_tcpdump=""
  cp "$pcap" "$out_dir/$name.pcap"
}

rm -f "$work"/hello.*.out
capture tftp-hpa-netascii-get tftp "$srv_ip" -c get hello.txt "$work/hello.tftp-hpa.out"
capture atftp-options-get atftp --option "blksize 1468" --option "tsize 0" --option "windowsize 4" \
  -g -r hello.txt -l "$work/hello.atftp.out" "$srv_ip"
# atftp's man page spells tsize as "tsize enable"; atftp then puts the word itself on the wire
# (tsize=enable), which tftpd-hpa silently drops from its OACK. Kept as a real-world quirk.
capture atftp-tsize-enable-get atftp --option "tsize enable" -g -r hello.txt -l "$work/hello.atftp-enable.out" "$srv_ip"
capture curl-blksize-get curl -sS --tftp-blksize 1468 "tftp://$srv_ip/hello.txt" -o "$work/hello.curl.out"
capture tftp-hpa-missing-file tftp "$srv_ip" -c get no-such-file.efi "$work/missing.out"

cp "$root_dir/hello.txt" "$out_dir/hello.txt"
for f in "$work"/hello.*.out; do
  cmp -s "$f" "$root_dir/hello.txt" && echo "capture-tftp-golden: $(basename "$f") matches" \
    || echo "capture-tftp-golden: $(basename "$f") DIFFERS from hello.txt" >&2
done
ls -l "$out_dir"
