#!/bin/bash
# vmhostd's command line: check accepts the example, refuses a bad file with
# every problem (file:line: field), and usage errors exit 1.
#   vmhostd_test.sh VMHOSTD EXAMPLE.toml
set -u
vmhostd=$1 example=$2
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect() {  # NAME WANT_RC PATTERN CMD...
  local name=$1 want=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: rc $rc (want $want), output: $out"; fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
expect "check the example" 0 "valid; uplink eno1, 2 VMs" "$vmhostd" check "$example"
cat > "$tmp/bad.toml" <<'TOML'
[host]
uplink = "eth0"
xdp_mode = "fast"

[[vm]]
name = "web1"
mac = "52:54:00:00:00:01"
adresses = ["10.0.0.5"]
TOML
expect "bad mode, line 3" 1 "bad.toml:3: host.xdp_mode: 'fast'; expected \"native\"" "$vmhostd" check "$tmp/bad.toml"
expect "typo, line 8" 1 "bad.toml:8: vm 'web1': adresses: unknown key" "$vmhostd" check "$tmp/bad.toml"
cat > "$tmp/tap.toml" <<'TOML'
[host]
uplink = "eth0"

[[vm]]
name = "web1"
mac = "52:54:00:00:00:01"
create_tap = true
tap_owner = "no-such-user-vmhost"
TOML
expect "create_tap without a tap, line 7" 1 "tap.toml:7: vm 'web1': create_tap: needs tap = \"NAME\"" "$vmhostd" check "$tmp/tap.toml"
expect "unknown tap owner, line 8" 1 "tap.toml:8: vm 'web1': tap_owner: unknown user 'no-such-user-vmhost'" "$vmhostd" check "$tmp/tap.toml"
expect "missing file" 1 "nowhere.toml: cannot be read: No such file" "$vmhostd" check "$tmp/nowhere.toml"
expect "no verb" 1 "" "$vmhostd"
expect "unknown verb" 1 "" "$vmhostd" start "$example"
expect "run without an uplink" 1 "uplink 'eno1'.*host.uplink" unshare -n "$vmhostd" run "$example" --socket "$tmp/s.sock"
# A state directory that is not on bpffs: refused before anything is attached,
# and the directory it made is gone again.
printf '[host]\nuplink = "lo"\nstate_dir = "%s"\n' "$tmp/state" > "$tmp/state.toml"
expect "a state_dir off bpffs" 1 "state directory $tmp/state is not on bpffs.*host.state_dir" \
  unshare -n "$vmhostd" run "$tmp/state.toml" --socket "$tmp/s.sock"
[ ! -e "$tmp/state" ] && echo "ok   ... and leaves no directory" || { echo "FAIL $tmp/state left"; fails=$((fails + 1)); }
exit $((fails > 0))
