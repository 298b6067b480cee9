#!/usr/bin/env bash
# The one test command: installs what is missing, builds (warnings are errors in src/), runs every test project.
# Exits non-zero when the build or any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_setup=0
for tool in qemu-system-x86_64 udhcpc dhclient dhcrelay tftp atftp curl perfdhcp kea-dhcp4 tcpdump ping nginx wrk; do
  command -v "$tool" >/dev/null 2>&1 || need_setup=1
done
[ -e /usr/lib/ipxe/undionly.kpxe ] || need_setup=1
[ "$need_setup" -eq 0 ] || scripts/setup.sh

configuration="${CONFIGURATION:-Release}"
dotnet build Provisioner.sln -c "$configuration" -nologo -v quiet
status=0
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  if ! dotnet test "$project" -c "$configuration" --no-build -nologo \
       --logger "console;verbosity=normal" --results-directory "artifacts/test-results/$name" \
       --logger "trx;LogFileName=$name.trx"; then
    echo "!!! $name FAILED"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "all test projects passed" || echo "some test projects FAILED"
exit "$status"
