#!/usr/bin/env bash
# Benchmark of the machine directory (read model) behind `provisioner machine list`.
# Claim under test: "listing 100,000 machines takes well under a second" without waking machine actors.
#
#   scripts/bench/list-machines.sh [N]        (default N = 100000; BENCH_BUDGET seconds, default 600)
#
# Starts a real node in-process on a temp SQLite journal, writes N machines through the shard region, times
# the admin API list / CLI table / stage filter, restarts the node to time the read model's catch-up, wakes
# 1,000 cold actors for contrast. Results: stdout and artifacts/bench/list-machines.txt. The temp dir is removed.
# Machines: RequestBoot + RecordLease each; 9 in 10 then report Installed (no deadline, so their actors passivate
# after 5 s), 1 in 10 stays Discovered (deadline armed, actor awake): 2.9 events per machine.
# About 5 min for N = 100000 on 2 busy cores (populate ~270 s at ~1,100 events/s); the tool stops populating at
# budget - 150 s and reports the N it reached.
set -euo pipefail
cd "$(dirname "$0")/../.."

n="${1:-100000}"
budget="${BENCH_BUDGET:-600}"
artifacts="${BENCH_ARTIFACTS:-/tmp/art-bench}"
out="artifacts/bench/list-machines.txt"

dotnet build scripts/bench/ListMachines/ListMachines.csproj -c Release --artifacts-path "$artifacts" -nologo -v quiet
dll="$artifacts/bin/ListMachines/release/list-machines-bench.dll"

data="$(mktemp -d -t provisioner-bench-XXXXXX)"
trap 'rm -rf "$data"' EXIT
rmdir "$data"   # the tool refuses a non-empty directory and creates (then deletes) this one

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "N = $n, budget ${budget}s (hard stop $((budget + 120))s), data $data"
# The tool keeps its own time budget; `timeout` is the backstop (INT first so the node shuts down cleanly).
timeout --signal=INT --kill-after=20 "$((budget + 120))" \
  dotnet "$dll" "$n" --data-dir "$data" --out "$out" --budget "$budget" --commit "$commit"
