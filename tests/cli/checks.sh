# The checks the vmhostd shell tests share; source it after setting $tmp
# (a directory for command output) and fails=0.
#   ok NAME, fail NAME          report one check (fail counts in $fails)
#   check NAME CMD...           passes if CMD succeeds
#   expect NAME RC PATTERN CMD... passes if CMD exits RC and its output
#                               matches the extended regex PATTERN; the
#                               output stays in $last_out
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
check() {
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name: $(cat "$tmp/out")"; fi
}
expect() {
  local name=$1 want=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  last_out=$out
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    fail "$name: rc $rc (want $want), output: $out"
  else
    ok "$name"
  fi
}
