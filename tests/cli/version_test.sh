#!/usr/bin/env bash
# TOOL --version (and -V) exits 0 and prints the project version, the git
# describe baked in at build, the libbpf version, the kernel's answers to the
# probes (as root, definite: a probe that cannot tell is a failure here) and
# where BPF objects are looked up (the build tree's, for a tool run from it).
#   version_test.sh TOOL NAME VERSION BPF_DIR
set -uo pipefail
tool=$1 name=$2 version=$3 bpfdir=$4
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for flag in --version -V; do
  out=$("$tool" $flag 2>&1)
  rc=$?
  echo "$ $name $flag (exit $rc)"
  echo "$out"
  [ "$rc" -eq 0 ] || fail "$name $flag exits $rc"
  mapfile -t l <<<"$out"
  [ "${#l[@]}" -eq 4 ] || fail "$name $flag: ${#l[@]} lines, want 4"
  [[ ${l[0]} =~ ^$name\ ${version//./\\.}\ \(git\ [0-9a-z.-]+\)$ ]] || fail "line 1: want '$name $version (git DESCRIBE)'"
  [[ ${l[1]} =~ ^libbpf\ v?[0-9]+\.[0-9]+ ]] || fail "line 2: want 'libbpf MAJOR.MINOR'"
  [[ ${l[2]} == "kernel $(uname -r): egress bypass: "@(affected|not affected)"; default programs: "@(yes|no) ]] ||
    fail "line 3: want 'kernel $(uname -r): egress bypass: affected|not affected; default programs: yes|no'"
  [ "${l[3]}" = "BPF objects: $bpfdir" ] || fail "line 4: want 'BPF objects: $bpfdir'"
done
[ "$fails" -eq 0 ]
