#!/usr/bin/env bash
# The one test command: installs what is missing, builds (warnings are errors in src/), runs every test project.
# Exits non-zero when the build or any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_setup=0
for tool in qemu-system-x86_64 qemu-system-aarch64 udhcpc dhclient dhcrelay tftp atftp curl perfdhcp kea-dhcp4 tcpdump ping nginx wrk systemd-analyze dnsmasq; do
  command -v "$tool" >/dev/null 2>&1 || need_setup=1
done
[ -e /usr/lib/ipxe/undionly.kpxe ] || need_setup=1
[ -e /opt/provisioner/secureboot/usr/lib/shim/shimx64.efi.signed ] || need_setup=1
[ -e /var/cache/provisioner-lab/arm64/.complete ] || need_setup=1
[ "$need_setup" -eq 0 ] || scripts/setup.sh

configuration="${CONFIGURATION:-Release}"
dotnet build Provisioner.sln -c "$configuration" -nologo -v quiet
status=0
failed=""
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  if ! dotnet test "$project" -c "$configuration" --no-build -nologo \
       --logger "console;verbosity=normal" --results-directory "artifacts/test-results/$name" \
       --logger "trx;LogFileName=$name.trx"; then
    echo "!!! $name FAILED"
    failed="$failed $name"
    status=1
  fi
done
# CI shows only the tail of this output: name every failed test (and its first message lines) last.
if [ "$status" -ne 0 ]; then
  echo "=== failed tests"
  for trx in artifacts/test-results/*/*.trx; do
    [ -f "$trx" ] || continue
    # One UnitTestResult element per test; a failed one carries <Message> lines (XML-escaped) after it.
    awk '/<UnitTestResult / { show = 0 }
         /<UnitTestResult .*outcome="(Failed|Error|Timeout|Aborted)"/ {
           match($0, /testName="[^"]*"/); print "!!! " substr($0, RSTART + 10, RLENGTH - 11); show = 1; n = 0 }
         show && /<Message>/ { inmsg = 1; sub(/.*<Message>/, "") }
         show && inmsg { line = $0; sub(/<\/Message>.*/, "", line); if (n++ < 6) print "      " substr(line, 1, 300); if ($0 ~ /<\/Message>/) { inmsg = 0; show = 0 } }' "$trx" || true
  done
fi
[ "$status" -eq 0 ] && echo "all test projects passed" || echo "some test projects FAILED:$failed"
exit "$status"
