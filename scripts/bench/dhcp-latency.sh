#!/usr/bin/env bash
# DHCPv4 latency percentiles from a packet capture (used by dhcp.sh; needs only tcpdump, awk and sort).
#
#   scripts/bench/dhcp-latency.sh PCAP END_EPOCH
#
# PCAP: tcpdump -w capture on the client side of the link (udp port 67). END_EPOCH (seconds since 1970, as `date
# +%s.%N`): when the client stopped waiting; a reply after it is late, i.e. a drop, and not in the percentiles.
# Each DISCOVER is paired with the first OFFER carrying its xid, each REQUEST with the first ACK carrying its xid
# (perfdhcp sends the REQUEST with the xid of its DISCOVER, so DORA = DISCOVER -> ACK of one xid). Latencies are
# reply capture time - request capture time. Percentiles are nearest-rank (the value at rank ceil(p * n)) over the
# exchanges answered in time.
# Prints one line:
#   DISCOVERS OFFERS LATE_OFFERS DO_P50_MS DO_P99_MS REQUESTS ACKS LATE_ACKS RA_P50_MS RA_P99_MS DORA_P50_MS DORA_P99_MS NAKS
#   OFFERS_WITHIN_1S ACKS_WITHIN_1S SERVER_DORA_P50_MS SERVER_DORA_P99_MS CLIENT_GAP_P50_MS CLIENT_GAP_P99_MS
# (the last two: replies on the wire within 1 s of their request, whenever the client stopped: drops as a client with
# its own CPU and perfdhcp's 1 s drop time would count them). SERVER_DORA = DISCOVER->OFFER + REQUEST->ACK of one xid,
# the server's part of a completed DORA; CLIENT_GAP = OFFER->REQUEST, the client's own part (about 0 for firmware, but
# perfdhcp shares the bench's 2 cores with the server: 140 ms median at 8,000/s in the seventeenth session).
# ("n/a" where there is nothing to rank).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PCAP END_EPOCH" >&2; exit 2; }
pcap=$1 end=$2
# tcpdump -v prints, per packet: "EPOCH IP (...)", then "src > dst: ... BOOTP/DHCP, ... xid 0x1f, ..." (no xid
# when it is 0), then the options, among them "DHCP-Message (53), length 1: Discover".
tcpdump -r "$pcap" -tt -n -v 2>/dev/null | awk -v end="$end" '
  /^[0-9]+\.[0-9]+ IP / { ts = $1; xid = "0"; next }
  /BOOTP\/DHCP/ { xid = "0"; if (match($0, /xid 0x[0-9a-f]+/)) xid = substr($0, RSTART + 4, RLENGTH - 4); next }
  /DHCP-Message \(53\)/ {
    t = $NF
    if (t == "Discover") { if (!(xid in d)) { d[xid] = ts; nd++ } }
    else if (t == "Offer") {
      if ((xid in d) && !(xid in o)) { o[xid] = ts; if (ts - d[xid] <= 1) no1++; if (ts <= end) { printf "DO %.3f\n", (ts - d[xid]) * 1000; no++ } else lo++ }
    }
    else if (t == "Request") { if (!(xid in q)) { q[xid] = ts; nq++ } }
    else if (t == "ACK") {
      if ((xid in q) && !(xid in a)) {
        a[xid] = 1
        if (ts - q[xid] <= 1) na1++
        if (ts <= end) {
          printf "RA %.3f\n", (ts - q[xid]) * 1000; na++
          if (xid in d) printf "DORA %.3f\n", (ts - d[xid]) * 1000
          if ((xid in d) && (xid in o)) { printf "SDORA %.3f\n", (o[xid] - d[xid] + ts - q[xid]) * 1000; printf "GAP %.3f\n", (q[xid] - o[xid]) * 1000 }
        }
        else la++
      }
    }
    else if (t == "NACK") nak++
  }
  END { printf "COUNT %d %d %d %d %d %d %d %d %d\n", nd, no, lo, nq, na, la, nak, no1, na1 }' |
  sort -k1,1 -k2,2g |
  awk '
    function flush() {
      if (key == "") return
      p50[key] = v[int(n * 0.50 + 0.999999)]; p99[key] = v[int(n * 0.99 + 0.999999)]
    }
    $1 == "COUNT" { for (i = 2; i <= 10; i++) c[i] = $i; next }
    $1 != key { flush(); key = $1; n = 0 }
    { v[++n] = $2 }
    END {
      flush()
      printf "%d %d %d %s %s %d %d %d %s %s %s %s %d %d %d %s %s %s %s\n", c[2], c[3], c[4], ("DO" in p50) ? p50["DO"] : "n/a", ("DO" in p99) ? p99["DO"] : "n/a",
        c[5], c[6], c[7], ("RA" in p50) ? p50["RA"] : "n/a", ("RA" in p99) ? p99["RA"] : "n/a",
        ("DORA" in p50) ? p50["DORA"] : "n/a", ("DORA" in p99) ? p99["DORA"] : "n/a", c[8], c[9], c[10],
        ("SDORA" in p50) ? p50["SDORA"] : "n/a", ("SDORA" in p99) ? p99["SDORA"] : "n/a", ("GAP" in p50) ? p50["GAP"] : "n/a", ("GAP" in p99) ? p99["GAP"] : "n/a"
    }'
