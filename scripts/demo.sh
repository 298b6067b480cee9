#!/usr/bin/env bash
# Runs Provisioner's main job on the embedded default (one node, both roles, SQLite) and shows what it knows.
# Installs what is missing, builds, starts `provisioner serve` on a throw-away data directory with the admin
# API on loopback, asks it through the CLI, then stops it and removes what it created.
#
# Status: the edge services (DHCP/TFTP/HTTP) that PXE-boot a virtual machine through this node are issue #3;
# until they land this demo shows the node, its cluster and its (empty) machine directory.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "demo: the .NET SDK 10 is required (dotnet not on PATH)" >&2; exit 1; }
[ -e /usr/lib/ipxe/undionly.kpxe ] && command -v qemu-system-x86_64 >/dev/null || scripts/setup.sh

out=artifacts/demo
dotnet build src/Provisioner.Host -c Release -nologo -v quiet -o "$out" >/dev/null
provisioner() { dotnet "$out/provisioner.dll" "$@"; }

data=$(mktemp -d /tmp/provisioner-demo.XXXXXX)
provisioner serve --data-dir "$data" --admin-listen http://127.0.0.1:0 >"$data/serve.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

server=""
for _ in $(seq 1 120); do
  server=$(grep -o 'Now listening on: http://127.0.0.1:[0-9]*' "$data/serve.log" | head -1 | sed 's/Now listening on: //') || true
  if [ -n "$server" ] && curl -fsS "$server/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "demo: provisioner serve exited:" >&2; cat "$data/serve.log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$server" ] || { echo "demo: node did not come up in 60 s; log:" >&2; cat "$data/serve.log" >&2; exit 1; }

echo "== provisioner serve is up: admin API $server, journal $data/provisioner.db"
echo
echo "\$ provisioner cluster show"
provisioner cluster show --server "$server"
echo
echo "\$ provisioner machine list"
provisioner machine list --server "$server"
echo
echo "(no machine has booted yet: the DHCP/TFTP/HTTP edge that PXE-boots a VM here is issue #3)"
