#!/usr/bin/env bash
# The man pages as installed (cmake --install --component man into a
# temporary DESTDIR): each expected page is there, and man -l renders it
# without a single groff warning, with its NAME section.
#   man_test.sh BUILD_DIR PAGE...
set -uo pipefail
build=$1; shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dme-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
DESTDIR=$tmp cmake --install "$build" --component man --prefix /usr > /dev/null || { echo "FAIL: install"; exit 1; }
for page in "$@"; do
  f=$tmp/usr/share/man/man${page##*.}/$page
  [ -f "$f" ] || { fail "$page is not installed (want $f)"; continue; }
  warnings=$(MANWIDTH=80 man --warnings=all -l "$f" 2>&1 > "$tmp/out")
  [ -z "$warnings" ] || fail "$page: man warns: $warnings"
  grep -q '^NAME' "$tmp/out" || fail "$page: no NAME section rendered"
  echo "$page: $(wc -l < "$tmp/out") lines, no warnings"
done
[ "$fails" -eq 0 ]
