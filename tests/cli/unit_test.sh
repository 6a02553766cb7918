#!/bin/bash
# The systemd unit as systemd reads it: systemd-analyze verify (syntax, the
# commands exist, the man pages it names render) on a copy that points at
# this build, and the hardening's exposure score (systemd-analyze security,
# offline) at most 3.0, "OK" on systemd's scale.
#   unit_test.sh BUILD/tools/vmhostd.service
set -uo pipefail
unit=$1 build=$(cd "$(dirname "$1")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8"
for p in vmhostd vmhostctl; do ln -s "$build/docs/man/$p.8" "$tmp/man/man8/$p.8"; done
sed "s|ExecStartPre=[^ ]*/vmhostd|ExecStartPre=$build/tools/vmhostd|; s|ExecStart=[^ ]*/vmhostd|ExecStart=$build/tools/vmhostd|" \
  "$unit" > "$tmp/vmhostd.service"
out=$(MANPATH=$tmp/man systemd-analyze verify "$tmp/vmhostd.service" 2>&1)
if [ -n "$out" ]; then
  echo "FAIL systemd-analyze verify: $out"; exit 1
fi
echo "ok   systemd-analyze verify"
score=$(systemd-analyze security --offline=true "$tmp/vmhostd.service" 2>&1 | sed -n 's/.*Overall exposure level for vmhostd.service: \([0-9.]*\).*/\1/p')
echo "exposure: ${score:-none}"
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || { echo "FAIL exposure ${score:-unknown} > 3.0"; exit 1; }
echo "ok   exposure $score"
